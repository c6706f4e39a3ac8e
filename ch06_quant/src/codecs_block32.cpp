// Codecs of the 32-value block types: Q8_0, Q4_0, Q4_1 and the activation type Q8_1.
//
// Each quantizer mirrors ggml's quantize_row_*_ref operation for operation; the comments point
// out the places where a "simpler" formula would change a byte.
#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>

#include "llm/config/dtype.h"
#include "llm/quant/blocks.h"
#include "llm/quant/codecs.h"

namespace llm {

void quantize_row_q8_0_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    // Multiplying by a reciprocal (not dividing by d) is ggml's choice; the two differ in the
    // last bit often enough to move a value across a rounding boundary.
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    // roundf: halfway cases away from zero (not to even).
    for (int j = 0; j < kQK; ++j) y[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

void quantize_row_q8_1_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_1*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
      sum += y[b].qs[j];
    }
    // s uses the unrounded f32 d, not the fp16 one stored beside it (as ggml does).
    y[b].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

// The activation quantizers llama.cpp runs on x86: the scale is the same amax/127, but values
// are multiplied by 127/amax (not by 1/d) and rounded half to even (the SIMD round
// instruction), where the reference quantizers multiply by 1/d and round half away from zero.
namespace {
template <bool kWithSum>
void quantize_activation_row(const float* x, int8_t* qs, uint16_t& d16, uint16_t* s16) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  d16 = f32_to_f16(d);
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));  // default mode: ties to even
    sum += qs[j];
  }
  if constexpr (kWithSum) *s16 = f32_to_f16(d * static_cast<float>(sum));
}
}  // namespace

void quantize_activation_q8_0(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK)
    quantize_activation_row<false>(x, y[b].qs, y[b].d, nullptr);
}

void quantize_activation_q8_1(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_1*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK)
    quantize_activation_row<true>(x, y[b].qs, y[b].d, &y[b].s);
}

void quantize_row_q4_0_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q4_0*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    // The value of largest magnitude keeps its sign and maps to q = 0 (i.e. −8·d): the 16
    // levels −8..7 are lopsided, so the extreme value gets the level that only exists on the
    // long side, and the other side may go up to +7.
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      // + 8.5 then truncation = round half up around the offset 8; min() catches the +8 end.
      const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[j + kQK / 2] * id + 8.5f));
      y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quantize_row_q4_1_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q4_1*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    y[b].m = f32_to_f16(min);  // the quants below still use the unrounded min
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((x[j] - min) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((x[j + kQK / 2] - min) * id + 0.5f));
      y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const block_q8_0*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kQK; ++j) y[j] = x[b].qs[j] * d;
  }
}

void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const block_q4_0*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = ((x[b].qs[j] & 0x0F) - 8) * d;
      y[j + kQK / 2] = ((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const block_q4_1*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = f16_to_f32(x[b].d);
    const float m = f16_to_f32(x[b].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = (x[b].qs[j] & 0x0F) * d + m;
      y[j + kQK / 2] = (x[b].qs[j] >> 4) * d + m;
    }
  }
}

}  // namespace llm
