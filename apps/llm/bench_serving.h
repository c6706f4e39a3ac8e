// Serving benchmarks: N concurrent requests (distinct prompts, `gen` greedy tokens each, EOS
// ignored) through chapter 7's engine (continuous batching, on its own thread, all submitted at
// once), and the static-batching baseline (one batch formed up front: all prompts prefilled,
// then all decoded together). Aggregate generation tok/s = tokens generated / time to the
// last token; time to first token and inter-token latency per token, p50 and p99.
#pragma once

#include <cstdint>
#include <vector>

#include "llm/kvcache/paged_kv_cache.h"
#include "llm/transformer/transformer.h"

namespace llm::cli {

struct ServingResult {
  int concurrency = 0;
  int64_t tokens = 0;
  double seconds = 0;
  double generation_tokens_per_s = 0;
  double ttft_ms_p50 = 0, ttft_ms_p99 = 0, itl_ms_p50 = 0, itl_ms_p99 = 0;
  // The KV cache during the run (continuous batching only).
  double kv_fragmentation = 0;  // mean over steps
  int kv_blocks_peak = 0;
  double prefix_hit_rate = 0;    // prompt tokens taken from the prefix cache / prompt tokens
  double sampling_fraction = 0;  // of the engine's step time, spent sampling
};

// Time to first token of a prompt whose first `prefix` tokens are (cached) or are not
// (uncached) in the prefix cache; medians of `reps` requests each.
struct PrefixTtft {
  int prefix_tokens = 0;
  double ttft_ms_uncached = 0, ttft_ms_cached = 0;
};
PrefixTtft measure_prefix_ttft(Transformer& model, PagedKvCache& cache, int prefix, int tail,
                               int reps);

std::vector<std::vector<int32_t>> distinct_prompts(int n, int len, int vocab, uint64_t seed);
// Both need sequence ids 0..N-1 free in `cache` and leave them free.
ServingResult run_continuous(Transformer& model, PagedKvCache& cache,
                             const std::vector<std::vector<int32_t>>& prompts, int gen);
ServingResult run_static(Transformer& model, PagedKvCache& cache,
                         const std::vector<std::vector<int32_t>>& prompts, int gen);

}  // namespace llm::cli
