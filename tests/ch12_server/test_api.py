"""The OpenAI API through the official `openai` client, against the real server."""
import concurrent.futures as cf
import json, urllib.request

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

QUESTION = "What is the capital of Germany?"


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused")


def model_id(client):
    return client.models.list().data[0].id


def post(server, path, body):
    req = urllib.request.Request(server.url + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def metrics(server):
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):  # a real Prometheus text parser
        for s in fam.samples:
            out[s.name] = s.value
    return out


def test_models_lists_the_served_model(client):
    models = client.models.list().data
    assert len(models) == 1 and models[0].id == "SmolLM2-135M-Instruct.Q4_1"


def test_chat_answers_berlin(client):
    r = client.chat.completions.create(model=model_id(client), temperature=0, max_tokens=32,
                                       messages=[{"role": "user", "content": QUESTION}])
    assert "Berlin" in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_content_as_text_parts_equals_string_content(client):
    m = model_id(client)
    a = client.chat.completions.create(model=m, temperature=0, max_tokens=16,
                                       messages=[{"role": "user", "content": QUESTION}])
    b = client.chat.completions.create(
        model=m, temperature=0, max_tokens=16,
        messages=[{"role": "user", "content": [{"type": "text", "text": "What is the capital"},
                                               {"type": "text", "text": " of Germany?"}]}])
    assert a.choices[0].message.content == b.choices[0].message.content


@pytest.mark.parametrize("chat", [True, False])
def test_streamed_text_equals_plain_text(client, chat):
    m = model_id(client)
    if chat:
        kw = dict(model=m, temperature=0, max_tokens=40,
                  messages=[{"role": "user", "content": "Tell me about the sea."}])
        plain = client.chat.completions.create(**kw).choices[0].message.content
        chunks = list(client.chat.completions.create(stream=True, **kw))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        kw = dict(model=m, temperature=0, max_tokens=40, prompt="Once upon a time")
        plain = client.completions.create(**kw).choices[0].text
        chunks = list(client.completions.create(stream=True, **kw))
        streamed = "".join(c.choices[0].text for c in chunks if c.choices)
    assert streamed == plain and len(plain) > 0


def test_stream_usage_when_asked(client):
    chunks = list(client.chat.completions.create(
        model=model_id(client), temperature=0, max_tokens=8, stream=True,
        stream_options={"include_usage": True}, messages=[{"role": "user", "content": QUESTION}]))
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == sum(
        1 for c in chunks if c.choices and c.choices[0].finish_reason is None)


def test_usage_prompt_tokens_match_tokenize(server, client):
    prompt = "The quick brown fox jumps over the lazy dog."
    r = client.completions.create(model=model_id(client), prompt=prompt, max_tokens=4,
                                  temperature=0)
    tokens = post(server, "/tokenize", {"content": prompt, "add_special": True})["tokens"]
    assert r.usage.prompt_tokens == len(tokens)
    assert r.usage.completion_tokens == 4 and r.choices[0].finish_reason == "length"
    assert post(server, "/detokenize", {"tokens": tokens})["content"].endswith(prompt)


def test_n_two_samples(client):
    r = client.chat.completions.create(model=model_id(client), n=2, temperature=1.0, seed=7,
                                       max_tokens=24,
                                       messages=[{"role": "user", "content": "Name a colour."}])
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.message.content for c in r.choices)


def test_stop_strings_cut_the_text(client):
    m = model_id(client)
    full = client.completions.create(model=m, prompt="1, 2, 3, 4,", max_tokens=16,
                                     temperature=0).choices[0].text
    assert " 6" in full
    cut = client.completions.create(model=m, prompt="1, 2, 3, 4,", max_tokens=16, temperature=0,
                                    stop=[" 6", "never"])
    assert cut.choices[0].text == full[:full.index(" 6")]
    assert cut.choices[0].finish_reason == "stop"


def test_seed_determinism(client):
    kw = dict(model=model_id(client), temperature=1.0, max_tokens=24,
              messages=[{"role": "user", "content": "Write one sentence about cats."}])
    a = client.chat.completions.create(seed=123, **kw).choices[0].message.content
    b = client.chat.completions.create(seed=123, **kw).choices[0].message.content
    outs = {client.chat.completions.create(seed=s, **kw).choices[0].message.content
            for s in (1, 2, 3, 4)}
    assert a == b
    assert len(outs) > 1


def test_logprobs(client):
    r = client.chat.completions.create(model=model_id(client), temperature=0, max_tokens=6,
                                       logprobs=True, top_logprobs=3,
                                       messages=[{"role": "user", "content": QUESTION}])
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 3
        # greedy: the chosen token is the most likely one
        assert t.top_logprobs[0].logprob == pytest.approx(t.logprob, abs=1e-6)
        assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob
    c = client.completions.create(model=model_id(client), prompt="Hello", max_tokens=3,
                                  temperature=0, logprobs=2)
    assert len(c.choices[0].logprobs.token_logprobs) == 3
    assert all(len(d) == 2 for d in c.choices[0].logprobs.top_logprobs)


def test_sixteen_concurrent_streams_each_get_their_solo_answer(server, client):
    m = model_id(client)
    prompts = [f"Write a short sentence about the number {i}." for i in range(16)]

    def ask(i, stream):
        kw = dict(model=m, temperature=0.8, seed=100 + i, max_tokens=48,
                  messages=[{"role": "user", "content": prompts[i]}])
        if not stream:
            return client.chat.completions.create(**kw).choices[0].message.content
        return "".join(c.choices[0].delta.content or ""
                       for c in client.chat.completions.create(stream=True, **kw) if c.choices)

    alone = [ask(i, False) for i in range(16)]
    with cf.ThreadPoolExecutor(16) as ex:
        together = list(ex.map(lambda i: ask(i, True), range(16)))
    assert together == alone
    assert metrics(server)["llm_kv_blocks_used"] == 0


def test_metrics_parse_and_count(server, client):
    before = metrics(server)
    client.completions.create(model=model_id(client), prompt="Hi", max_tokens=2, temperature=0)
    after = metrics(server)
    assert after["llm_generation_tokens_total"] - before["llm_generation_tokens_total"] == 2
    assert after["llm_time_to_first_token_seconds_count"] > before.get(
        "llm_time_to_first_token_seconds_count", 0)
    for k in ("llm_kv_blocks_total", "llm_kv_blocks_free", "llm_kv_blocks_cached",
              "llm_requests_running", "llm_requests_waiting", "llm_prefix_cache_hit_rate"):
        assert k in after
