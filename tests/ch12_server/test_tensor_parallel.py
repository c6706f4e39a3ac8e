"""`llm serve --tp 3` (chapter 11): the server drives rank 0 of the default model sharded over
three threads (9 query / 3 KV heads). Token-level equality with one rank (up to near-ties) is
chapter 11's tp_generate_test; here the whole server path runs sharded: the engine's forks
(n = 2) and prefix cache replayed on every rank."""
import openai


def ask(url, question, n=1):
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused")
    model = client.models.list().data[0].id
    r = client.chat.completions.create(model=model, n=n, temperature=0, max_tokens=24,
                                       messages=[{"role": "user", "content": question}])
    return [c.message.content for c in r.choices]


def test_a_sharded_server_answers(start_server):
    tp = start_server("--tp", "3")
    for _ in range(2):  # the second time from the prefix cache
        answer = ask(tp.url, "What is the capital of Germany?", n=2)
        assert len(answer) == 2 and answer[0] == answer[1], answer  # greedy: the samples agree
        assert "Berlin" in answer[0], answer
