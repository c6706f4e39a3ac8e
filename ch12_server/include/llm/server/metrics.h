// Metrics — what /metrics publishes, in Prometheus's text format (version 0.0.4): requests by
// endpoint and status, tokens in and out, time-to-first-token and inter-token latency
// histograms, and the engine's gauges (running and waiting requests, KV blocks used / free /
// cached, prefix-cache hit rate). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "llm/batching/engine.h"

namespace llm::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // "# TYPE" line, cumulative _bucket lines, _sum and _count.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), + the +Inf bucket
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);
  void tokens(int prompt, int generated);
  Histogram ttft, itl;  // seconds
  std::string render(const EngineStats& engine, int in_flight) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
};

}  // namespace llm::server
