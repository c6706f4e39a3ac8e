// Sampler — turns a row of logits into the next token.
//
// The order is llama.cpp's: penalties on the raw logits, then top-k, top-p, min-p on the
// softmax of logits/temperature, then a draw. Temperature 0 is greedy (argmax, lowest id on
// ties). A seeded generator makes sampling reproducible: same seed, same text.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace llm {

struct SamplerConfig {
  float temperature = 0.8f;        // 0 = greedy
  int top_k = 40;                  // 0 = off
  float top_p = 0.95f;             // 1 = off
  float min_p = 0.05f;             // 0 = off
  float repeat_penalty = 1.0f;     // 1 = off; divides positive logits, multiplies negative
  float presence_penalty = 0.0f;   // subtracted once from any token already seen
  float frequency_penalty = 0.0f;  // subtracted per occurrence
  int penalty_last_n = 64;         // how many recent tokens the penalties look at
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig config);
  // Picks the next token from logits given the tokens so far (for the penalties).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplerConfig& config() const { return config_; }

  // The steps, exposed for tests. Candidates are (id, logit) pairs.
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  static void apply_penalties(std::vector<Candidate>& c, std::span<const int32_t> history,
                              const SamplerConfig& cfg);
  static void softmax(std::vector<Candidate>& c);       // sorts by logit, fills p
  static void top_k(std::vector<Candidate>& c, int k);  // expects sorted
  // Keeps the smallest prefix with mass >= p, the mass measured against `total` (0: the sum of
  // c, which may already be truncated).
  static void top_p(std::vector<Candidate>& c, float p, float total = 0.0f);
  static void min_p(std::vector<Candidate>& c, float p);  // keeps p_i >= p * p_max

 private:
  SamplerConfig config_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace llm
