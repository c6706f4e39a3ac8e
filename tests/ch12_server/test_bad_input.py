"""Raw HTTP: every bad request gets its OpenAI error object and status, a vanishing client is
cancelled, and the server keeps serving with every KV block free afterwards."""
import http.client, json, socket, time, urllib.request

import pytest

from test_api import metrics

CHAT = "/v1/chat/completions"
GOOD = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0}


def request(server, method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    c.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def error_of(status_body):
    status, body = status_body
    return status, json.loads(body)["error"]


def still_serving(server):
    status, body = request(server, "POST", CHAT, json.dumps(GOOD))
    assert status == 200, body
    assert json.loads(body)["choices"][0]["message"]["content"] is not None


def blocks_free(server):
    for _ in range(50):  # a cancelled request lets go of its blocks at the next step
        if metrics(server)["llm_kv_blocks_used"] == 0:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("body,param", [
    (b"{not json", None),
    (b"[1, 2, 3]", None),
    (json.dumps({"messages": "hello"}), "messages"),
    (json.dumps({"messages": []}), "messages"),
    (json.dumps({**GOOD, "max_tokens": -5}), "max_tokens"),
    (json.dumps({**GOOD, "max_tokens": 10 ** 12}), "max_tokens"),
    (json.dumps({**GOOD, "max_tokens": "ten"}), "max_tokens"),
    (json.dumps({**GOOD, "temperature": "hot"}), "temperature"),
    (json.dumps({**GOOD, "temperature": 7}), "temperature"),
    (json.dumps({**GOOD, "top_p": 0}), "top_p"),
    (json.dumps({**GOOD, "n": 0}), "n"),
    (json.dumps({**GOOD, "stop": 5}), "stop"),
    (json.dumps({**GOOD, "model": "gpt-4"}), "model"),
    (json.dumps({**GOOD, "messages": [{"role": "wizard", "content": "x"}]}), "messages[0].role"),
    (json.dumps({**GOOD, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
     "messages[0].content"),
    (b'{"messages": [{"role": "user", "content": "\xff\xfe bad utf-8"}]}', None),
])
def test_bad_bodies_get_400_with_an_error_object(server, body, param):
    status, err = error_of(request(server, "POST", CHAT, body))
    assert status == 400
    assert err["type"] == "invalid_request_error" and err["message"]
    if param:
        assert err["param"] == param
    still_serving(server)


def test_prompt_longer_than_the_context(server):
    long = "hello " * 9000  # > 8192 tokens
    status, err = error_of(request(server, "POST", "/v1/completions",
                                   json.dumps({"prompt": long, "max_tokens": 4})))
    assert status == 400 and "context" in err["message"]
    still_serving(server)


def test_ten_megabyte_body_is_413(server):
    body = b'{"prompt": "' + b"a" * (10 << 20) + b'"}'
    try:
        status, data = request(server, "POST", "/v1/completions", body)
        assert status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close the connection before reading it all
    still_serving(server)


def test_unknown_paths_and_methods(server):
    assert request(server, "GET", "/v1/nothing")[0] == 404
    assert request(server, "GET", CHAT)[0] == 405
    assert "error" in json.loads(request(server, "GET", "/v1/nothing")[1])
    for i in range(20):  # random paths share one metrics label: no unbounded growth
        request(server, "GET", f"/random/{i}")
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    assert "/random/" not in text and 'endpoint="other",status="404"' in text


def test_client_disconnecting_mid_stream_is_cancelled(server):
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 2000, "temperature": 0.7,
                       "stream": True}).encode()
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        got = b""
        while got.count(b"data: ") < 5:
            got += s.recv(4096)
        s.close()  # hang up after a few tokens
    # and one during prefill: a long prompt, gone before its first token
    long = json.dumps({"prompt": "word " * 3000, "max_tokens": 50, "stream": True}).encode()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(long)).encode() + b"\r\n\r\n" + long)
    time.sleep(0.05)
    s.close()
    assert blocks_free(server), "a hung-up stream still holds KV blocks"
    still_serving(server)
    assert blocks_free(server)


def test_api_key(start_server):
    s = start_server("--api-key", "sekrit")
    status, err = error_of(request(s, "POST", CHAT, json.dumps(GOOD)))
    assert status == 401 and err["type"] == "authentication_error"
    status, _ = request(s, "POST", CHAT, json.dumps(GOOD), {"Authorization": "Bearer wrong"})
    assert status == 401
    status, _ = request(s, "POST", CHAT, json.dumps(GOOD), {"Authorization": "Bearer sekrit"})
    assert status == 200
    assert request(s, "GET", "/health")[0] == 200  # health needs no key


def test_a_full_queue_answers_503_and_recovers(start_server):
    s = start_server("--max-concurrency", "1", "--queue-limit", "0")
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": True,
                       "stream": True}).encode()
    first = socket.create_connection(("127.0.0.1", s.port))
    first.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while got.count(b"data: ") < 2:  # the first request is streaming: the queue is full
        got += first.recv(4096)
    status, err = error_of(request(s, "POST", CHAT, json.dumps(GOOD)))
    assert status == 503 and err["type"] == "server_error"
    first.close()
    assert blocks_free(s)
    still_serving(s)
