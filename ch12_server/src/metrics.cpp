#include "llm/server/metrics.h"

#include <cstdio>

namespace llm::server {
namespace {
std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
void gauge(std::string& out, const std::string& name, const std::string& help, double v,
           const char* type = "gauge") {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         num(v) + "\n";
}
}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  std::lock_guard lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::tokens(int prompt, int generated) {
  std::lock_guard lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  generated_tokens_ += static_cast<uint64_t>(generated);
}

std::string Metrics::render(const EngineStats& e, int in_flight) const {
  std::string out;
  {
    std::lock_guard lock(mu_);
    out +=
        "# HELP llm_requests_total HTTP requests by endpoint and status.\n"
        "# TYPE llm_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += "llm_requests_total{endpoint=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    gauge(out, "llm_prompt_tokens_total", "Prompt tokens of completed requests.",
          static_cast<double>(prompt_tokens_), "counter");
    gauge(out, "llm_generation_tokens_total", "Tokens generated for completed requests.",
          static_cast<double>(generated_tokens_), "counter");
  }
  ttft.render(out, "llm_time_to_first_token_seconds", "Time from request to first token.");
  itl.render(out, "llm_inter_token_latency_seconds", "Time between consecutive tokens.");
  gauge(out, "llm_requests_in_flight", "Requests accepted and not finished.", in_flight);
  gauge(out, "llm_requests_running", "Sequences in the running batch.", e.scheduler.running);
  gauge(out, "llm_requests_waiting", "Sequences waiting for admission.", e.scheduler.waiting);
  gauge(out, "llm_kv_blocks_total", "KV cache blocks in the pool.", e.kv.blocks_total);
  gauge(out, "llm_kv_blocks_used", "KV cache blocks held by sequences.", e.kv.blocks_used);
  gauge(out, "llm_kv_blocks_free", "KV cache blocks holding nothing.", e.kv.blocks_free);
  gauge(out, "llm_kv_blocks_cached", "Unreferenced KV blocks kept for prefix reuse.",
        e.kv.blocks_cached);
  gauge(out, "llm_kv_fragmentation", "Unused share of the slots of the blocks in use.",
        e.kv.fragmentation);
  gauge(out, "llm_prefix_cache_hit_rate", "Prompt tokens found in the prefix cache / queried.",
        e.kv.prefix_hit_rate());
  gauge(out, "llm_preemptions_total", "Sequences preempted (recomputed later).",
        static_cast<double>(e.scheduler.preemptions), "counter");
  return out;
}

}  // namespace llm::server
