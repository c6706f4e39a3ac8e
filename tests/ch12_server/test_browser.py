"""The chat page in a real browser: headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium) opens /, sends a message, and sees the answer stream in. A screenshot is
kept as a test artifact (build/test-artifacts/chat_page.png, or $LLMCPP_ARTIFACTS)."""
import os, re, time

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/test installs them)")
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,800"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield d
    d.quit()


def artifact_dir():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    d = os.environ.get("LLMCPP_ARTIFACTS") or os.path.join(root, "build", "test-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def test_chat_page_streams_an_answer(server, browser):
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "title").text != "llmcpp")
    temp = browser.find_element(By.ID, "temperature")
    temp.clear()
    temp.send_keys("0")
    browser.find_element(By.ID, "q").send_keys("What is the capital of Germany?")
    browser.find_element(By.ID, "send").click()
    # The answer grows while the stream is open: the stop button is enabled meanwhile.
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline:
        answers = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")
        if answers:
            seen.add(answers[-1].text)
        if browser.find_element(By.ID, "send").is_enabled() and answers and answers[-1].text:
            break
        time.sleep(0.02)
    answer = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1].text
    assert "Berlin" in answer
    assert len(seen) >= 2, "the answer appeared at once instead of streaming in"
    assert "tok/s" in browser.find_element(By.ID, "speed").text
    # the live KV view: the pool's size, and every block back once the answer is done
    WebDriverWait(browser, 10).until(lambda d: re.search(
        r"blocks used 0\b.*free [1-9]\d* / [1-9]", d.find_element(By.ID, "kv").text, re.S))
    path = os.path.join(artifact_dir(), "chat_page.png")
    browser.save_screenshot(path)
    assert os.path.getsize(path) > 10000
