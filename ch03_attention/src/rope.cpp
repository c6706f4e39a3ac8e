#include "llm/attention/rope.h"

#include <cmath>

namespace llm {
namespace {

// Rotates the pair (a, b) of every head by the angle of pair i. The angle sequence is built
// exactly as llama.cpp builds its rope cache: theta starts at pos and is multiplied by
// base^(−2/hd) once per pair, in float. (llama2.c computes pos · base^(−2i/hd) directly; the two
// differ in the last bits, which matters for matching llama.cpp's logits at long contexts.)
template <bool kInterleaved>
void rope(float* x, int n_heads, int head_dim, int pos, float theta_base) {
  const float scale = std::pow(theta_base, -2.0f / static_cast<float>(head_dim));
  const int half = head_dim / 2;
  float theta = static_cast<float>(pos);
  for (int i = 0; i < half; ++i) {
    const float c = std::cos(theta);
    const float s = std::sin(theta);
    for (int h = 0; h < n_heads; ++h) {
      float* head = x + static_cast<size_t>(h) * head_dim;
      float& a = kInterleaved ? head[2 * i] : head[i];
      float& b = kInterleaved ? head[2 * i + 1] : head[i + half];
      const float a0 = a, b0 = b;
      // One product rounded, the other fused into the subtraction/addition: the code GCC
      // emits for llama.cpp's rotation with FMA enabled (checked against its activations).
      a = std::fma(a0, c, -(b0 * s));
      b = std::fma(s, a0, b0 * c);
    }
    theta *= scale;
  }
}

}  // namespace

void rope_interleaved(float* x, int n_heads, int head_dim, int pos, float theta_base) {
  rope<true>(x, n_heads, head_dim, pos, theta_base);
}

void rope_half_split(float* x, int n_heads, int head_dim, int pos, float theta_base) {
  rope<false>(x, n_heads, head_dim, pos, theta_base);
}

}  // namespace llm
