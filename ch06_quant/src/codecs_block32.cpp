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

// Q8_0 and Q8_1 blocks come from one procedure in two flavours, both as ggml writes them:
//   Reference (quantize_row_*_ref, what llama-quantize writes): multiply by 1/d — not divide by
//     d; the two differ in the last bit often enough to move a value across a rounding
//     boundary — and round half away from zero (roundf);
//   X86 (what llama.cpp's x86 build runs on activations, its AVX code): multiply by 127/amax
//     and round half to even (the SIMD round instruction).
// Rarely a byte differs between the two; the matmuls use X86, since the aim is llama.cpp's
// logits. Both store d = amax/127, and Q8_1's s = d·Σq uses the unrounded f32 d, not the fp16
// one stored beside it.
namespace {
enum class Q8Flavour { Reference, X86 };

struct Q8Block {
  float d;
  int sum;  // Σq
};

template <Q8Flavour kFlavour>
Q8Block quantize_q8_block(const float* x, int8_t* qs, uint16_t& d16) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  float id;
  if constexpr (kFlavour == Q8Flavour::Reference) {
    id = d != 0.0f ? 1.0f / d : 0.0f;
  } else {
    id = amax != 0.0f ? 127.f / amax : 0.0f;
  }
  d16 = f32_to_f16(d);
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    const float v = x[j] * id;
    qs[j] = static_cast<int8_t>(kFlavour == Q8Flavour::Reference ? std::round(v)        // ties away
                                                                 : std::nearbyint(v));  // ties even
    sum += qs[j];
  }
  return {d, sum};
}

template <Q8Flavour kFlavour>
void quantize_row_q8_0(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) quantize_q8_block<kFlavour>(x, y[b].qs, y[b].d);
}

template <Q8Flavour kFlavour>
void quantize_row_q8_1(const float* x, void* vy, int64_t n) {
  assert(n % kQK == 0);
  auto* y = static_cast<block_q8_1*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    const Q8Block q = quantize_q8_block<kFlavour>(x, y[b].qs, y[b].d);
    y[b].s = f32_to_f16(static_cast<float>(q.sum) * q.d);
  }
}
}  // namespace

void quantize_row_q8_0_ref(const float* x, void* y, int64_t n) {
  quantize_row_q8_0<Q8Flavour::Reference>(x, y, n);
}
void quantize_row_q8_1_ref(const float* x, void* y, int64_t n) {
  quantize_row_q8_1<Q8Flavour::Reference>(x, y, n);
}
void quantize_activation_q8_0(const float* x, void* y, int64_t n) {
  quantize_row_q8_0<Q8Flavour::X86>(x, y, n);
}
void quantize_activation_q8_1(const float* x, void* y, int64_t n) {
  quantize_row_q8_1<Q8Flavour::X86>(x, y, n);
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
