// Tensor parallelism end to end: greedy generation on N ranks (threads) equals one rank —
// or diverges only at a proven near-tie — on a random model, stories260K (8 heads / 4 KV heads)
// at 2 and 4 ranks and the default model (9 / 3) at 3; the engine, with prefix caching and
// forked samples, gives the same tokens sharded; and 2 ranks of the default model are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "llm/batching/engine.h"
#include "llm/config/error.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/parallel/tensor_parallel.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"
#include "llm/testing/greedy_trace.h"

using namespace llm;
using namespace llm::parallel;
namespace t = llm::testing;
using t::Trace;

namespace {

RankOptions options(int max_tokens) {
  RankOptions o;
  o.threads = 1;
  o.kv.max_seqs = 4;
  o.kv.n_blocks = (max_tokens + 15) / 16 * 4;
  o.kv.max_tokens = max_tokens;
  o.max_batch = 64;
  return o;
}

// One rank (the reference) against `world` ranks as threads.
void check_tp(const Model& full, int world, const std::vector<int32_t>& prompt, int n,
              const std::string& what) {
  const RankOptions o = options(static_cast<int>(prompt.size()) + n + 1);
  Trace ref, got;
  {
    ThreadTensorParallel one(full, 1, o);
    ref = t::greedy(one.leader(), prompt, n);
  }
  {
    ThreadTensorParallel tp(full, world, o);
    got = t::greedy(tp.leader(), prompt, n);
    // Per token and layer, two all-reduces of dim floats; one all-gather of the logits.
    const CommStats& s = tp.comm_stats();
    EXPECT_EQ(s.all_reduces, static_cast<uint64_t>(2 * full.config.n_layers * n)) << what;
    EXPECT_EQ(s.all_gathers, static_cast<uint64_t>(n)) << what;
    // Each rank holds a part of the cache: its KV heads.
    for (const auto& [weights, kv] : tp.bytes_per_rank()) EXPECT_GT(weights, 0u);
    EXPECT_EQ(tp.bytes_per_rank()[0].second * static_cast<size_t>(world),
              PagedKvCache::bytes_per_token(full.config, DType::F16) *
                  static_cast<size_t>(PagedKvCache::block_count(full.config, o.kv)) * 16)
        << what;
  }
  t::expect_same_or_near_tie(ref, got, what);
}

TEST(TensorParallel, RandomModelOnTwoRanksEqualsOneRank) {
  static const TensorMap w = t::random_llama_weights(t::tiny_llama_config(), 5);
  const Model full = Model::from_tensors(t::tiny_llama_config(), w, "tiny");
  check_tp(full, 2, {1, 5, 9, 33, 66}, 24, "tiny, 2 ranks");  // vocabulary 67: 33 + 34 rows
}

TEST(TensorParallel, Stories260KOnTwoAndFourRanksEqualsOneRank) {
  const std::string path = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel lm = load_model(path);
  for (const int world : {2, 4})
    check_tp(*lm.model, world, {1, 403, 407, 261, 378}, 48,
             "stories260K, " + std::to_string(world) + " ranks");
}

TEST(TensorParallel, DefaultModelOnThreeRanksEqualsOneRankAndTwoAreRefused) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel lm = load_model(path);
  const auto prompt = lm.tokenizer->encode("The capital of France is", {.add_bos = true});
  check_tp(*lm.model, 3, prompt, 16, "default model, 3 ranks");
  try {
    ThreadTensorParallel two(*lm.model, 2, options(64));
    FAIL() << "2 ranks of 3 KV heads accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* want : {"9 query heads", "3 KV heads", "use 1, 3 ranks"})
      EXPECT_NE(msg.find(want), std::string::npos) << want << " in: " << msg;
  }
}

// The engine drives rank 0 like any model: prefix caching (match_prefix) and n = 2 (fork) change
// the leader's block tables outside forward(), and the followers must replay those changes.
TEST(TensorParallel, EngineWithPrefixCachingAndForkedSamplesMatchesOneRank) {
  const std::string path = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel lm = load_model(path);
  std::vector<int32_t> shared = {1};
  for (int i = 0; i < 40; ++i) shared.push_back(static_cast<int32_t>(3 + (i * 37) % 500));
  auto run = [&](int world) {
    RankOptions o = options(128);
    o.kv.max_seqs = 8;
    o.kv.n_blocks = 64;
    ThreadTensorParallel tp(*lm.model, world, o);
    Engine engine(tp.leader(), tp.leader_cache(), nullptr, {});
    std::vector<std::vector<int32_t>> out;
    for (int round = 0; round < 2; ++round) {  // the second round finds the prefix cached
      std::vector<std::vector<int32_t>> tokens(6);
      for (int i = 0; i < 3; ++i) {
        Request r;
        r.prompt = shared;
        r.prompt.push_back(static_cast<int32_t>(100 + i + 10 * round));
        r.params.max_tokens = 12;
        r.params.n = 2;
        r.params.sampler.temperature = 0.0f;
        engine.submit(r, [&tokens, i](const TokenEvent& ev) {
          if (!ev.finished) tokens[static_cast<size_t>(2 * i + ev.sample)].push_back(ev.token);
        });
      }
      engine.run_until_idle();
      out.insert(out.end(), tokens.begin(), tokens.end());
    }
    EXPECT_GT(tp.leader_cache().stats().prefix_hit, 0) << world << " ranks";
    return out;
  };
  const auto one = run(1), two = run(2);
  EXPECT_EQ(one, two);
}

}  // namespace
