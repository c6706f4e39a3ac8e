#include "llm/attention/exp_approx.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace llm {

float exp_approx(float x) {
  // n = round(x / ln2) by the add-a-magic-number trick: z's low mantissa bits hold n.
  constexpr float kShift = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, kShift);
  const float n = z - kShift;
  // b = x − n·ln2, with ln2 split in two parts so the subtraction stays exact.
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  // k = 2^n, built in the exponent field (wraps for |n| > 126; handled below).
  const uint32_t e = std::bit_cast<uint32_t>(z) << 23;
  const float k = std::bit_cast<float>(e + std::bit_cast<uint32_t>(1.0f));
  // j ≈ e^b − 1, evaluated as ggml does: odd and even halves, then combined with u = b².
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, 0x1.ffffecp-1f * b);
  if (!(std::fabs(n) > 126.0f)) return std::fma(j, k, k);  // the common case: 2^n·(1 + j)
  // Near or past the float range: scale in two steps, s1·s2 = 2^n, or saturate to 0 / inf.
  const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
  const float s1 = std::bit_cast<float>(g + 0x7f000000u);
  if (std::fabs(n) > 192.0f) return s1 * s1;
  const float s2 = std::bit_cast<float>(e - g);
  return std::fma(s2, j, s2) * s1;
}

}  // namespace llm
