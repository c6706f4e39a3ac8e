#include "llm/transformer/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace llm {

int32_t argmax(std::span<const float> logits) {
  // Two passes the compiler can vectorize instead of one long dependency chain: the maximum
  // over 16 independent lanes, then the first id holding it (lowest id wins a tie). A NaN
  // never wins; all-NaN logits give id 0.
  const size_t n = logits.size();
  float lane[16];
  std::fill(lane, lane + 16, -INFINITY);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) lane[j] = logits[i + j] > lane[j] ? logits[i + j] : lane[j];
  float mx = -INFINITY;
  for (float l : lane) mx = l > mx ? l : mx;
  for (; i < n; ++i) mx = logits[i] > mx ? logits[i] : mx;
  for (size_t k = 0; k < n; ++k)
    if (logits[k] == mx) return static_cast<int32_t>(k);
  return 0;
}

Sampler::Sampler(SamplerConfig config) : config_(config), rng_(config.seed) {}

void Sampler::apply_penalties(std::vector<Candidate>& c, std::span<const int32_t> history,
                              const SamplerConfig& cfg) {
  if (cfg.repeat_penalty == 1.0f && cfg.presence_penalty == 0.0f && cfg.frequency_penalty == 0.0f)
    return;
  const size_t n = cfg.penalty_last_n < 0
                       ? history.size()
                       : std::min(history.size(), static_cast<size_t>(cfg.penalty_last_n));
  std::unordered_map<int32_t, int> counts;
  for (size_t i = history.size() - n; i < history.size(); ++i) ++counts[history[i]];
  // Candidates are indexed by id here (called before any sorting).
  for (const auto& [id, count] : counts) {
    if (id < 0 || static_cast<size_t>(id) >= c.size()) continue;
    float& l = c[static_cast<size_t>(id)].logit;
    // Repetition penalty (CTRL paper, as llama.cpp applies it): shrink towards zero.
    l = l > 0 ? l / cfg.repeat_penalty : l * cfg.repeat_penalty;
    l -= static_cast<float>(count) * cfg.frequency_penalty + cfg.presence_penalty;
  }
}

void Sampler::softmax(std::vector<Candidate>& c) {
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  const float mx = c.front().logit;
  float sum = 0.0f;
  for (Candidate& x : c) sum += (x.p = std::exp(x.logit - mx));
  for (Candidate& x : c) x.p /= sum;
}

void Sampler::top_k(std::vector<Candidate>& c, int k) {
  if (k > 0 && static_cast<size_t>(k) < c.size()) c.resize(static_cast<size_t>(k));
}

void Sampler::top_p(std::vector<Candidate>& c, float p, float total) {
  if (p >= 1.0f) return;
  if (total <= 0.0f)
    for (const Candidate& x : c) total += x.p;  // c may already be truncated: renormalise
  float cum = 0.0f;
  for (size_t i = 0; i < c.size(); ++i) {
    cum += c[i].p / total;
    if (cum >= p) {
      c.resize(i + 1);
      return;
    }
  }
}

void Sampler::min_p(std::vector<Candidate>& c, float p) {
  if (p <= 0.0f || c.empty()) return;
  const float threshold = c.front().p * p;  // sorted: front is the max
  size_t keep = 1;
  while (keep < c.size() && c[keep].p >= threshold) ++keep;
  c.resize(keep);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  // Greedy without penalties is the argmax of the raw logits: no candidate list to build (it
  // would write 12 bytes per vocabulary entry for every token, ~3% of a fast decode step).
  if (config_.temperature <= 0.0f && config_.repeat_penalty == 1.0f &&
      config_.presence_penalty == 0.0f && config_.frequency_penalty == 0.0f)
    return argmax(logits);
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    candidates_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  apply_penalties(candidates_, history, config_);
  if (config_.temperature <= 0.0f) {
    // Greedy: the highest logit after penalties.
    const auto best =
        std::max_element(candidates_.begin(), candidates_.end(),
                         [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
    return best->id;
  }
  for (Candidate& x : candidates_) x.logit /= config_.temperature;
  // Only the head of the distribution survives top-k, top-p and min-p, so only a prefix is
  // sorted (partial selection, never the whole vocabulary): top_k entries, or a prefix grown
  // until the top-p and min-p cut-offs both fall inside it.
  const auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  const size_t n = candidates_.size();
  const int k = config_.top_k;
  const bool cut_p = config_.top_p < 1.0f;
  const bool cut_min = config_.min_p > 0.0f;
  const bool top_k_first = k > 0 && static_cast<size_t>(k) < n;
  size_t m;
  if (top_k_first) {
    // top-k first: only the k best are sorted. What follows only
    // compares probabilities with each other (top-p renormalises over the k, min-p is relative
    // to the best, the draw is over their total), so the softmax denominator cancels: the k
    // weights stay unnormalised and no exponential is taken over the whole vocabulary.
    m = static_cast<size_t>(k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<long>(m),
                      candidates_.end(), by_logit);  // a k-heap: most entries fail one compare
    const float mx = candidates_.front().logit;
    for (size_t i = 0; i < m; ++i) candidates_[i].p = std::exp(candidates_[i].logit - mx);
  } else {
    // The denominator over the whole vocabulary, in id order (top-p needs true probabilities).
    float mx = -INFINITY;
    for (const Candidate& x : candidates_) mx = std::max(mx, x.logit);
    float sum = 0.0f;
    for (const Candidate& x : candidates_) sum += std::exp(x.logit - mx);
    m = (cut_p || cut_min) ? std::min<size_t>(64, n) : n;
    for (;;) {
      std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<long>(m),
                        candidates_.end(), by_logit);
      for (size_t i = 0; i < m; ++i) candidates_[i].p = std::exp(candidates_[i].logit - mx) / sum;
      if (m == n) break;
      float cum = 0.0f;
      bool p_decided = !cut_p, min_decided = !cut_min;
      for (size_t i = 0; i < m && !p_decided; ++i)
        p_decided = (cum += candidates_[i].p) >= config_.top_p;
      if (cut_min) min_decided = candidates_[m - 1].p < candidates_[0].p * config_.min_p;
      if (p_decided && min_decided) break;
      m = std::min(n, m * 8);
    }
  }
  candidates_.resize(m);
  // top-p renormalises over what top-k kept; without top-k the probabilities are already true
  // ones over the whole vocabulary (of which only a prefix is held).
  top_p(candidates_, config_.top_p, top_k_first ? 0.0f : 1.0f);
  min_p(candidates_, config_.min_p);
  float total = 0.0f;
  for (const Candidate& x : candidates_) total += x.p;
  // Draw r in [0, total) and walk the cumulative mass.
  const float r = std::uniform_real_distribution<float>(0.0f, total)(rng_);
  float cum = 0.0f;
  for (const Candidate& x : candidates_) {
    cum += x.p;
    if (r < cum) return x.id;
  }
  return candidates_.back().id;
}

}  // namespace llm
