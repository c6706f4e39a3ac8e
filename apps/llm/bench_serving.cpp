// llm bench --concurrency — N requests at once through chapter 7's engine, against static
// batching, and the ladder's "batched" rung. See bench_serving.h.
#include "bench_serving.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>

#include "llm/batching/engine.h"

namespace llm::cli {
namespace {
using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
double percentile(std::vector<double> v, double q) {  // nearest rank
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}
// Per request: the time of each generated token, from t0.
ServingResult summarize(int n, const std::vector<std::vector<Clock::time_point>>& times,
                        Clock::time_point t0) {
  ServingResult r;
  r.concurrency = n;
  std::vector<double> ttft, itl;
  Clock::time_point end = t0;
  for (const auto& t : times) {
    if (t.empty()) continue;
    ttft.push_back(ms(t.front() - t0));
    for (size_t i = 1; i < t.size(); ++i) itl.push_back(ms(t[i] - t[i - 1]));
    end = std::max(end, t.back());
    r.tokens += static_cast<int64_t>(t.size());
  }
  r.seconds = std::chrono::duration<double>(end - t0).count();
  r.generation_tokens_per_s = r.seconds > 0 ? r.tokens / r.seconds : 0;
  r.ttft_ms_p50 = percentile(ttft, 0.5);
  r.ttft_ms_p99 = percentile(ttft, 0.99);
  r.itl_ms_p50 = percentile(itl, 0.5);
  r.itl_ms_p99 = percentile(itl, 0.99);
  return r;
}
}  // namespace

std::vector<std::vector<int32_t>> distinct_prompts(int n, int len, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  for (auto& p : out)
    for (int i = 0; i < len; ++i)
      p.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
  return out;
}

ServingResult run_continuous(Transformer& model, PagedKvCache& cache,
                             const std::vector<std::vector<int32_t>>& prompts, int gen) {
  EngineConfig cfg;
  cfg.scheduler.max_batch_tokens = model.max_batch();
  cfg.scheduler.max_running = cache.max_seqs();
  Engine engine(model, cache, nullptr, cfg);
  engine.start();
  const size_t n = prompts.size();
  std::vector<std::vector<Clock::time_point>> times(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  const KvStats before = cache.stats();
  const Clock::time_point t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    Request r;
    r.prompt = prompts[i];
    r.params.max_tokens = gen;
    r.params.sampler.temperature = 0;  // greedy; no stop ids: EOS ignored
    engine.submit(std::move(r), [&, i](const TokenEvent& e) {
      if (!e.finished) {
        times[i].push_back(Clock::now());
        return;
      }
      std::lock_guard lock(mu);
      ++done;
      cv.notify_one();
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == n; });
  }
  engine.stop();
  ServingResult res = summarize(static_cast<int>(n), times, t0);
  const EngineStats st = engine.stats();
  res.kv_fragmentation = st.kv_fragmentation_mean;
  res.kv_blocks_peak = st.kv_blocks_peak;
  res.sampling_fraction =
      st.sampling_seconds / std::max(1e-12, st.sampling_seconds + st.forward_seconds);
  const int64_t queried = st.kv.prefix_queried - before.prefix_queried;
  res.prefix_hit_rate =
      queried ? static_cast<double>(st.kv.prefix_hit - before.prefix_hit) / queried : 0.0;
  return res;
}

PrefixTtft measure_prefix_ttft(Transformer& model, PagedKvCache& cache, int prefix, int tail,
                               int reps) {
  const int vocab = model.model().config.vocab_size;
  EngineConfig cfg;
  cfg.scheduler.max_batch_tokens = model.max_batch();
  Engine engine(model, cache, nullptr, cfg);
  const auto ttft = [&](const std::vector<int32_t>& prompt) {
    Request r;
    r.prompt = prompt;
    r.params.max_tokens = 1;
    r.params.sampler.temperature = 0;
    const Clock::time_point t0 = Clock::now();
    Clock::time_point first{};
    engine.submit(std::move(r), [&](const TokenEvent& e) {
      if (!e.finished) first = Clock::now();
    });
    engine.run_until_idle();
    return ms(first - t0);
  };
  std::vector<double> cold, warm;
  for (int i = 0; i < reps; ++i) {
    // A fresh prefix each time: the first request computes it, the second finds it cached.
    const auto head = distinct_prompts(1, prefix, vocab, 9000 + static_cast<uint64_t>(i)).front();
    for (int k = 0; k < 2; ++k) {
      auto p = head;
      const auto rest = distinct_prompts(1, tail, vocab, 9500 + static_cast<uint64_t>(2 * i + k));
      p.insert(p.end(), rest.front().begin(), rest.front().end());
      (k == 0 ? cold : warm).push_back(ttft(p));
    }
  }
  return {prefix, percentile(cold, 0.5), percentile(warm, 0.5)};
}

ServingResult run_static(Transformer& model, PagedKvCache& cache,
                         const std::vector<std::vector<int32_t>>& prompts, int gen) {
  // The batch is formed once: every prompt is prefilled (in max_batch chunks), then all decode
  // together until the last one ends; nothing joins midway.
  const int n = static_cast<int>(prompts.size());
  const int vocab = model.model().config.vocab_size;
  std::vector<std::vector<Clock::time_point>> times(static_cast<size_t>(n));
  std::vector<int32_t> next(static_cast<size_t>(n));
  const Clock::time_point t0 = Clock::now();
  Batch b;
  int seq = 0, pos = 0;
  while (seq < n) {
    b.clear();
    while (seq < n && b.size() < model.max_batch()) {
      const auto& p = prompts[static_cast<size_t>(seq)];
      b.add(p[static_cast<size_t>(pos)], pos, seq, pos + 1 == static_cast<int>(p.size()));
      if (++pos == static_cast<int>(p.size())) ++seq, pos = 0;
    }
    const auto logits = model.forward(b);
    int row = 0;
    for (int i = 0; i < b.size(); ++i)
      if (b.logits[static_cast<size_t>(i)])
        next[static_cast<size_t>(b.seq_ids[static_cast<size_t>(i)])] =
            argmax(logits.subspan(static_cast<size_t>(row++) * vocab, static_cast<size_t>(vocab)));
  }
  const Clock::time_point first = Clock::now();
  for (auto& t : times) t.push_back(first);
  for (int step = 1; step < gen; ++step) {
    b.clear();
    for (int i = 0; i < n; ++i)
      b.add(next[static_cast<size_t>(i)],
            static_cast<int>(prompts[static_cast<size_t>(i)].size()) + step - 1, i, true);
    const auto logits = model.forward(b);
    const Clock::time_point now = Clock::now();
    for (int i = 0; i < n; ++i) {
      next[static_cast<size_t>(i)] =
          argmax(logits.subspan(static_cast<size_t>(i) * vocab, static_cast<size_t>(vocab)));
      times[static_cast<size_t>(i)].push_back(now);
    }
  }
  for (int i = 0; i < n; ++i) cache.free(i);
  return summarize(n, times, t0);
}

}  // namespace llm::cli
