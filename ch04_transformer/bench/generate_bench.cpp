// The first rung of the optimization ladder: generating N tokens with the KV cache
// (incremental) and without it (recompute the whole sequence every step), on the real
// stories260K checkpoint. Without the cache the cost per token grows with the length.
//
//   bench_ch04_generate_bench [--benchmark_filter=...]   (LLMCPP_MODELS points at the models)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "llm/transformer/generator.h"

namespace {

const llm::Model* model() {
  static const llm::Model* m = []() -> const llm::Model* {
    const char* dir = std::getenv("LLMCPP_MODELS");
    const std::string path = std::string(dir ? dir : LLMCPP_DEFAULT_MODELS) + "/stories260K.bin";
    try {
      return new llm::Model(llm::load_llama2c(path));
    } catch (const llm::Error&) {
      return nullptr;
    }
  }();
  return m;
}

void BM_Generate(benchmark::State& state, bool use_kv_cache) {
  const llm::Model* m = model();
  if (!m) {
    state.SkipWithError("stories260K.bin not found (set LLMCPP_MODELS)");
    return;
  }
  const int n = static_cast<int>(state.range(0));
  llm::Registry r;
  llm::register_transformer(r);
  llm::ScratchKvCache cache(m->config, 1, n + 1);
  llm::Transformer tr(*m, llm::Kernels::select(r), cache);
  llm::GenerateOptions opt;
  opt.max_tokens = n;
  opt.sampler.temperature = 0;
  opt.use_kv_cache = use_kv_cache;
  const std::vector<int32_t> prompt{1};
  for (auto _ : state) benchmark::DoNotOptimize(llm::generate(tr, nullptr, prompt, opt).ids.data());
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(n) * state.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Generate, kv_cache, true)
    ->RangeMultiplier(2)
    ->Range(32, 256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Generate, recompute, false)
    ->RangeMultiplier(2)
    ->Range(32, 256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_MAIN();
