#!/usr/bin/env python3
"""A soak run against a running `llm serve` (not part of ctest: it takes minutes).

32 client threads for --minutes: most stream completions to the end (each must end with
`data: [DONE]`), some hang up mid-stream, some send malformed bodies (each must get a 4xx).
Every 10 s the server must answer /health and its resident memory (/proc/PID/status VmRSS)
must stay within 25% of its level after the first minute (the warm-up). Prints a summary and
exits non-zero on any violation.

  llm serve --model M --port 8095 --no-access-log & tests/ch12_server/soak.py --port 8095 --pid $!
"""
import argparse, http.client, json, random, socket, sys, threading, time

BAD = [b"{not json", b"[]", b'{"prompt": 5}', b'{"prompt": "x", "max_tokens": -1}',
       b'{"prompt": "x", "temperature": "hot"}', b'{"prompt": "\xff\xfe"}', b'{"messages": []}']


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=32)
    a = ap.parse_args()
    stop = time.time() + 60 * a.minutes
    counts = {"done": 0, "hangups": 0, "bad_4xx": 0, "violations": 0}
    lock = threading.Lock()
    errors = []

    def bump(k, msg=None):
        with lock:
            counts[k] += 1
            if msg:
                errors.append(msg)

    def client(i):
        rng = random.Random(i)
        while time.time() < stop:
            r = rng.random()
            try:
                if r < 0.15:  # a malformed body
                    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
                    c.request("POST", "/v1/completions", rng.choice(BAD),
                              {"Content-Type": "application/json"})
                    st = c.getresponse().status
                    c.close()
                    bump("bad_4xx") if 400 <= st < 500 else bump("violations", f"bad body got {st}")
                    continue
                body = json.dumps({"prompt": f"Client {i} says: once upon a time", "stream": True,
                                   "max_tokens": rng.randint(8, 96), "temperature": 0.8}).encode()
                s = socket.create_connection(("127.0.0.1", a.port), timeout=120)
                s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/json\r\nContent-Length: " + str(len(body)).encode() +
                          b"\r\n\r\n" + body)
                hang_after = rng.randint(1, 20) if r < 0.35 else None
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    if hang_after and got.count(b"data: ") >= hang_after:
                        break
                    if b"data: [DONE]" in got:
                        break
                s.close()
                if hang_after:
                    bump("hangups")
                elif b"data: [DONE]" in got:
                    bump("done")
                else:
                    bump("violations", "a stream ended without [DONE]: " + got[-200:].decode("replace"))
            except OSError as e:
                bump("violations", f"client {i}: {e}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    for t in threads:
        t.start()
    baseline, worst = None, 0.0
    start = time.time()
    while time.time() < stop:
        time.sleep(10)
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
            c.request("GET", "/health")
            assert c.getresponse().status == 200
        except Exception as e:  # noqa: BLE001
            bump("violations", f"health failed: {e}")
        rss = rss_kib(a.pid)
        if baseline is None and time.time() - start >= 60:
            baseline = rss
        if baseline:
            worst = max(worst, abs(rss - baseline) / baseline)
        print(f"{time.time() - start:6.0f}s rss {rss / 1024:.0f} MiB {counts}", flush=True)
    for t in threads:
        t.join(timeout=180)
    if worst > 0.25:
        errors.append(f"resident memory moved {100 * worst:.0f}% from its level after warm-up")
    print(json.dumps({**counts, "rss_max_drift": worst, "errors": errors[:10]}, indent=2))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
