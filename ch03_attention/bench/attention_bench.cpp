// Plain vs tiled attention across context lengths, for one query token of a SmolLM2-sized
// layer (9 query heads, 3 KV heads, head_dim 64). Both variants come from the Registry.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "llm/attention/attention.h"

namespace {

void BM_Attention(benchmark::State& state, llm::AttentionFn fn) {
  const int n_keys = static_cast<int>(state.range(0));
  const llm::AttentionShape shape{9, 3, 64};
  const int stride = shape.n_kv_heads * shape.head_dim;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> q(shape.n_heads * shape.head_dim), k(static_cast<size_t>(n_keys) * stride),
      v(k.size()), out(q.size()), scratch(llm::attention_scratch_floats(n_keys, shape.head_dim));
  for (auto* buf : {&q, &k, &v})
    for (float& x : *buf) x = dist(rng);
  const llm::KvBlock block{k.data(), v.data(), n_keys, stride};
  for (auto _ : state) {
    fn(q.data(), {&block, 1}, n_keys, shape, out.data(), scratch.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(k.size()) * 4);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Attention, plain, &llm::attention_plain)
    ->RangeMultiplier(4)
    ->Range(64, 4096)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, tiled, &llm::attention_tiled)
    ->RangeMultiplier(4)
    ->Range(64, 4096)
    ->UseRealTime();
BENCHMARK_MAIN();
