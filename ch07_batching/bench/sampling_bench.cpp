// Chapter 7 benchmark: sampling one row of the default model's 49,152 logits, as the engine does
// for every sequence of every step. full_sort/* is the textbook pipeline (sort the vocabulary,
// then cut: chapter 4's Sampler::softmax/top_k/top_p/min_p), partial/* what Sampler::sample does
// (the softmax denominator in one pass, then only the head sorted), greedy the argmax.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "llm/transformer/sampler.h"

using namespace llm;

namespace {

constexpr int kVocab = 49152;

std::vector<float> logits() {
  std::vector<float> l(kVocab);
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (float& x : l) x = d(rng);
  return l;
}

SamplerConfig config(int top_k, float top_p, float min_p) {
  SamplerConfig c;
  c.temperature = 0.8f;
  c.top_k = top_k;
  c.top_p = top_p;
  c.min_p = min_p;
  return c;
}

void full_sort(benchmark::State& state, SamplerConfig c) {
  const auto l = logits();
  std::vector<Sampler::Candidate> cand;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    cand.resize(l.size());
    for (size_t i = 0; i < l.size(); ++i)
      cand[i] = {static_cast<int32_t>(i), l[i] / c.temperature, 0.0f};
    Sampler::softmax(cand);  // sorts the whole vocabulary
    Sampler::top_k(cand, c.top_k);
    Sampler::top_p(cand, c.top_p);
    Sampler::min_p(cand, c.min_p);
    float total = 0;
    for (const auto& x : cand) total += x.p;
    const float r = std::uniform_real_distribution<float>(0.0f, total)(rng);
    float cum = 0;
    int32_t id = cand.back().id;
    for (const auto& x : cand)
      if (r < (cum += x.p)) {
        id = x.id;
        break;
      }
    benchmark::DoNotOptimize(id);
  }
}

void partial(benchmark::State& state, SamplerConfig c) {
  const auto l = logits();
  Sampler s(c);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l, {}));
}

void greedy(benchmark::State& state) {
  const auto l = logits();
  for (auto _ : state) benchmark::DoNotOptimize(argmax(l));
}

}  // namespace

BENCHMARK_CAPTURE(full_sort, top_k40_top_p095, config(40, 0.95f, 0.05f))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(partial, top_k40_top_p095, config(40, 0.95f, 0.05f))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(full_sort, top_p09_only, config(0, 0.9f, 0.0f))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(partial, top_p09_only, config(0, 0.9f, 0.0f))->Unit(benchmark::kMicrosecond);
BENCHMARK(greedy)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
