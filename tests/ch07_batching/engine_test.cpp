// The continuous-batching engine: every request gets exactly the tokens it gets alone, whatever
// it is batched with, however its prompt is chunked, through preemption, forks and
// cancellation — with the reference kernels (ch07's own chain) and with chapter 8's fast ones.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "llm/batching/engine.h"
#include "llm/batching/event_queue.h"
#include "llm/batching/register.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

const Model* stories() {
  static const std::optional<Model> m = []() -> std::optional<Model> {
    const std::string bin = t::models_dir() + "/stories260K.bin";
    if (!t::file_exists(bin)) return std::nullopt;
    return load_llama2c(bin);
  }();
  return m ? &*m : nullptr;
}

enum class Path { Reference, Fast };

Kernels kernels(Path p) {
  Registry r;
  if (p == Path::Reference)
    register_batching(r);  // chapters 1-7: scalar kernels
  else
    register_loading(r);  // the whole chain: chapter 8's SIMD kernels where the CPU has them
  return batch_invariant_kernels(r);
}

// A model, a paged cache and an engine over them.
struct Rig {
  Rig(const Model& m, Path path, int n_blocks, int budget = 64, int threads = 2)
      : backend(kernels(path), path == Path::Fast ? threads : 1),
        cache(m.config,
              [&] {
                PagedKvOptions o;
                o.n_blocks = n_blocks;
                o.block_size = 16;
                o.max_seqs = 16;
                return o;
              }()),
        model(m, backend, cache, budget),
        engine(model, cache, nullptr, [&] {
          EngineConfig c;
          c.scheduler.max_batch_tokens = budget;
          return c;
        }()) {}
  CpuBackend backend;
  PagedKvCache cache;
  Transformer model;
  Engine engine;
};

struct Outcome {
  std::vector<std::vector<int32_t>> tokens;  // per sample
  std::vector<std::vector<float>> logprobs;  // per sample: the chosen token's, then the top 2
  std::vector<FinishReason> reasons;
  int finished = 0;
};

Request make_request(int i) {
  Request r;
  const int len = 3 + (i * 7) % 40;  // prompts of different lengths
  r.prompt.push_back(1);
  for (int k = 1; k < len; ++k)
    r.prompt.push_back(static_cast<int32_t>((i * 37 + k * 11) % 500 + 3));
  r.params.max_tokens = 20 + (i * 13) % 50;
  r.params.sampler.temperature = i % 3 == 0 ? 0.0f : 0.7f + 0.1f * (i % 4);
  r.params.sampler.top_k = i % 2 ? 40 : 0;
  r.params.sampler.top_p = i % 4 == 1 ? 0.9f : 1.0f;
  r.params.sampler.min_p = i % 5 == 2 ? 0.05f : 0.0f;
  r.params.sampler.seed = 1000 + static_cast<uint64_t>(i);
  r.params.logprobs = 2;  // compared bit for bit: the logits themselves must not move
  return r;
}

// Submits all requests at once and runs the engine on this thread until idle.
std::vector<Outcome> run_together(Engine& e, const std::vector<Request>& reqs) {
  std::vector<Outcome> out(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    out[i].tokens.resize(static_cast<size_t>(reqs[i].params.n));
    out[i].reasons.resize(static_cast<size_t>(reqs[i].params.n));
    out[i].logprobs.resize(static_cast<size_t>(reqs[i].params.n));
    e.submit(reqs[i], [&out, i](const TokenEvent& ev) {
      if (ev.finished) {
        out[i].reasons[static_cast<size_t>(ev.sample)] = ev.reason;
        ++out[i].finished;
      } else {
        out[i].tokens[static_cast<size_t>(ev.sample)].push_back(ev.token);
        auto& lp = out[i].logprobs[static_cast<size_t>(ev.sample)];
        lp.push_back(ev.logprob);
        for (const auto& [id, p] : ev.top_logprobs) lp.push_back(p);
      }
    });
  }
  e.run_until_idle();
  return out;
}

Outcome run_alone(const Model& m, Path path, const Request& r) {
  Rig rig(m, path, 64);
  return run_together(rig.engine, {r}).front();
}

}  // namespace

class EngineTest : public ::testing::TestWithParam<Path> {};

TEST_P(EngineTest, ConcurrentRequestsGetExactlyTheirSoloTokens) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  std::vector<Request> reqs;
  for (int i = 0; i < 10; ++i) reqs.push_back(make_request(i));
  Rig rig(*m, GetParam(), 128, 48);  // a budget of 48 tokens: prompts are chunked and mixed
  const auto together = run_together(rig.engine, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Outcome alone = run_alone(*m, GetParam(), reqs[i]);
    EXPECT_EQ(together[i].tokens, alone.tokens) << "request " << i;
    EXPECT_EQ(together[i].logprobs, alone.logprobs) << "request " << i;
    EXPECT_EQ(together[i].reasons, alone.reasons) << "request " << i;
    EXPECT_EQ(together[i].finished, 1);
    EXPECT_EQ(together[i].tokens[0].size(), static_cast<size_t>(reqs[i].params.max_tokens));
  }
  const EngineStats st = rig.engine.stats();
  EXPECT_EQ(st.kv.blocks_used, 0);  // every block back
  EXPECT_EQ(st.finished, reqs.size());
  EXPECT_EQ(st.scheduler.preemptions, 0u);
}

TEST_P(EngineTest, TinyCacheForcesPreemptionAndEveryoneStillGetsTheSoloAnswer) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  std::vector<Request> reqs;
  for (int i = 0; i < 8; ++i) {
    reqs.push_back(make_request(i));
    reqs.back().params.max_tokens = 60;
  }
  Rig rig(*m, GetParam(), 14, 64);  // 14 blocks of 16 tokens: room for ~3 of the 8 at a time
  const auto together = run_together(rig.engine, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Outcome alone = run_alone(*m, GetParam(), reqs[i]);
    EXPECT_EQ(together[i].tokens, alone.tokens) << "request " << i;
    EXPECT_EQ(together[i].logprobs, alone.logprobs) << "request " << i;
  }
  const EngineStats st = rig.engine.stats();
  EXPECT_GT(st.scheduler.preemptions, 0u);
  EXPECT_EQ(st.kv.blocks_used, 0);
  rig.cache.check_invariants();
}

TEST_P(EngineTest, ChunkedAndWholePrefillGiveIdenticalLogits) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  const Request r = make_request(5);
  std::vector<float> whole;
  for (int chunk : {1000, 7, 1}) {
    Rig rig(*m, GetParam(), 64, 256);
    std::span<const float> logits;
    const int n = static_cast<int>(r.prompt.size());
    for (int at = 0; at < n; at += chunk) {
      Batch b;
      for (int p = at; p < std::min(n, at + chunk); ++p) b.add(r.prompt[p], p, 0, p == n - 1);
      logits = rig.model.forward(b);
    }
    if (whole.empty())
      whole.assign(logits.begin(), logits.end());
    else
      EXPECT_EQ(std::vector<float>(logits.begin(), logits.end()), whole) << "chunks of " << chunk;
  }
}

TEST_P(EngineTest, SamplesOfOneRequestEqualLoneRequestsWithConsecutiveSeeds) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  Request r = make_request(4);  // sampled, temperature 0.7+
  r.params.n = 3;
  Rig rig(*m, GetParam(), 64);
  const Outcome o = run_together(rig.engine, {r}).front();
  ASSERT_EQ(o.finished, 3);
  for (int i = 0; i < 3; ++i) {
    Request single = r;
    single.params.n = 1;
    single.params.sampler.seed = r.params.sampler.seed + static_cast<uint64_t>(i);
    EXPECT_EQ(o.tokens[static_cast<size_t>(i)], run_alone(*m, GetParam(), single).tokens[0])
        << "sample " << i;
  }
  EXPECT_NE(o.tokens[0], o.tokens[1]);
  EXPECT_EQ(rig.engine.stats().kv.blocks_used, 0);
}

INSTANTIATE_TEST_SUITE_P(Kernels, EngineTest, ::testing::Values(Path::Reference, Path::Fast),
                         [](const auto& info) {
                           return info.param == Path::Reference ? "Reference" : "Fast";
                         });

TEST(Engine, CancellingFreesTheBlocksAtOnce) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  Rig rig(*m, Path::Reference, 64);
  Request r = make_request(3);
  r.params.max_tokens = 200;
  std::vector<TokenEvent> events;
  const uint64_t id = rig.engine.submit(r, [&](const TokenEvent& e) { events.push_back(e); });
  for (int i = 0; i < 5; ++i) rig.engine.step();
  EXPECT_GT(rig.engine.stats().kv.blocks_used, 0);
  rig.engine.cancel(id);
  rig.engine.step();
  EXPECT_EQ(rig.engine.stats().kv.blocks_used, 0);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().finished);
  EXPECT_EQ(events.back().reason, FinishReason::Cancelled);
  rig.engine.cancel(id);  // a second cancel is harmless
  EXPECT_FALSE(rig.engine.step());
}

TEST(Engine, PrefixCacheSkipsTheSharedPromptAndChangesNoToken) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  Rig rig(*m, Path::Reference, 64);
  Request a = make_request(2);
  a.prompt.resize(3);
  for (int k = 0; k < 60; ++k) a.prompt.push_back(static_cast<int32_t>(10 + k));
  const Outcome first = run_together(rig.engine, {a}).front();
  int cached = -1;
  rig.engine.submit(a, [&](const TokenEvent& e) { cached = e.n_cached; });
  rig.engine.run_until_idle();
  EXPECT_EQ(cached, 48);  // three full blocks of 16 (the last token is always computed)
  EXPECT_EQ(run_together(rig.engine, {a}).front().tokens, first.tokens);
  EXPECT_GT(rig.engine.stats().kv.prefix_hit, 0);
}

TEST(Engine, RejectsRequestsThatCanNeverRun) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  Rig rig(*m, Path::Reference, 64);
  const auto noop = [](const TokenEvent&) {};
  Request r = make_request(1);
  r.prompt.clear();
  EXPECT_THROW(rig.engine.submit(r, noop), Error);
  r = make_request(1);
  r.prompt.assign(static_cast<size_t>(m->config.max_seq_len), 5);
  EXPECT_THROW(rig.engine.submit(r, noop), Error);
  r = make_request(1);
  r.prompt.push_back(100000);
  EXPECT_THROW(rig.engine.submit(r, noop), Error);
  r = make_request(1);
  r.params.n = 0;
  EXPECT_THROW(rig.engine.submit(r, noop), Error);
  r = make_request(1);
  r.params.max_tokens = 0;
  EXPECT_THROW(rig.engine.submit(r, noop), Error);
  // A sequence longer than the whole pool ends with a reason instead of waiting forever.
  Rig small(*m, Path::Reference, 2);
  r = make_request(1);
  r.prompt.assign(40, 5);  // 3 blocks of 16 > 2
  const Outcome o = run_together(small.engine, {r}).front();
  EXPECT_EQ(o.reasons[0], FinishReason::Context);
  EXPECT_EQ(small.engine.stats().kv.blocks_used, 0);
}

// The engine on its own thread, fed and cancelled from several client threads at once (run
// under the tsan preset).
TEST(Engine, ThreadedClientsStreamSubmitAndCancel) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  Rig rig(*m, Path::Fast, 64);
  std::vector<Request> reqs;
  for (int i = 0; i < 8; ++i) reqs.push_back(make_request(i));
  std::vector<Outcome> solo;
  for (const Request& r : reqs) solo.push_back(run_alone(*m, Path::Fast, r));
  rig.engine.start();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<int32_t>> got(reqs.size());
  std::vector<int> done(reqs.size(), 0);
  std::vector<FinishReason> reason(reqs.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < reqs.size(); ++i)
    clients.emplace_back([&, i] {
      const uint64_t id = rig.engine.submit(reqs[i], [&, i](const TokenEvent& e) {
        std::lock_guard lock(mu);
        if (e.finished) {
          done[i] = 1;
          reason[i] = e.reason;
          cv.notify_all();
        } else {
          got[i].push_back(e.token);
        }
      });
      if (i % 4 == 3) rig.engine.cancel(id);  // some clients give up at once
    });
  for (auto& c : clients) c.join();
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return std::count(done.begin(), done.end(), 1) == 8; });
  }
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (i % 4 == 3) {
      EXPECT_EQ(reason[i], FinishReason::Cancelled);
      // what it got before the cancel arrived is a prefix of its solo answer
      EXPECT_TRUE(std::equal(got[i].begin(), got[i].end(), solo[i].tokens[0].begin()));
    } else {
      EXPECT_EQ(got[i], solo[i].tokens[0]) << "request " << i;
    }
  }
  rig.engine.stop();
  EXPECT_EQ(rig.engine.stats().kv.blocks_used, 0);
}

// The default model on chapter 8's kernels (its head size takes the SIMD attention, chunked at
// fixed boundaries): sixteen concurrent requests, greedy and seeded, each bit for bit its solo run.
TEST(Engine, DefaultModelBatchedEqualsSoloOnTheFastPath) {
  const std::string path = t::default_model_path();
  if (!t::file_exists(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel lm = load_model(path);
  std::vector<Request> reqs;
  for (int i = 0; i < 16; ++i) {
    Request r = make_request(i);
    for (int32_t& id : r.prompt) id = (id * 97) % 40000 + 100;
    r.params.max_tokens = 12;
    reqs.push_back(r);
  }
  Rig rig(*lm.model, Path::Fast, 256, 96);
  const auto together = run_together(rig.engine, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    Rig alone(*lm.model, Path::Fast, 64, 96);
    const Outcome solo = run_together(alone.engine, {reqs[i]}).front();
    EXPECT_EQ(together[i].tokens, solo.tokens) << "request " << i;
    EXPECT_EQ(together[i].logprobs, solo.logprobs) << "request " << i;
  }
  EXPECT_EQ(rig.engine.stats().kv.blocks_used, 0);
}

// Pulling instead of being called back: the events of a request through an EventQueue, popped
// on this thread while the engine runs on its own.
TEST(Engine, EventQueueDeliversEveryEventInOrder) {
  const Model* m = stories();
  if (!m) GTEST_SKIP() << t::skip_reason(t::models_dir() + "/stories260K.bin");
  const Request r = make_request(6);
  const Outcome solo = run_alone(*m, Path::Reference, r);
  Rig rig(*m, Path::Reference, 64);
  rig.engine.start();
  const auto q = EventQueue::create();
  rig.engine.submit(r, q->callback());
  std::vector<int32_t> got;
  for (;;) {
    const auto e = q->pop(std::chrono::seconds(30));
    ASSERT_TRUE(e.has_value()) << "no event within 30 s";
    if (e->finished) break;
    got.push_back(e->token);
  }
  EXPECT_EQ(got, solo.tokens[0]);
  EXPECT_FALSE(q->pop(std::chrono::milliseconds(10)).has_value());
  rig.engine.stop();
}
