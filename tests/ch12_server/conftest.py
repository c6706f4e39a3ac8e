"""Starts the real `llm serve` binary on a free port with the default model for the tests of
this directory; stops it with SIGTERM at the end and checks it exits 0."""
import json, os, signal, socket, subprocess, time, urllib.request

import pytest


def pytest_addoption(parser):
    parser.addoption("--llm", default=None, help="path to the llm binary")
    parser.addoption("--model", default=None, help="path to the default model")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, llm, model, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        defaults = [] if "--max-concurrency" in extra else ["--max-concurrency", "16"]
        self.proc = subprocess.Popen(
            [llm, "serve", "--model", model, "--port", str(self.port), "-t", "2",
             "--no-access-log", *defaults, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("llm serve exited: " + self.proc.stderr.read().decode())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if json.load(r)["status"] == "ok":
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("llm serve did not come up")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def paths(config):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    llm = config.getoption("--llm") or os.path.join(root, "build", "release", "bin", "llm")
    model = config.getoption("--model") or os.environ.get("LLMCPP_DEFAULT_MODEL") or \
        os.path.join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(model):
        pytest.skip(f"{model} is missing (scripts/fetch-default-model fetches it)")
    return llm, model


@pytest.fixture(scope="session")
def server(request):
    llm, model = paths(request.config)
    s = Server(llm, model)
    yield s
    assert s.stop() == 0, "llm serve did not exit 0 on SIGTERM"


@pytest.fixture(scope="session")
def start_server(request):
    """Starts an extra server with other options: start_server("--api-key", "k")."""
    started = []

    def start(*extra):
        llm, model = paths(request.config)
        s = Server(llm, model, *extra)
        started.append(s)
        return s
    yield start
    for s in started:
        assert s.stop() == 0
