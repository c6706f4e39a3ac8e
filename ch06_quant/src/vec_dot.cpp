// Reference quantized dot products: ggml's portable ggml_vec_dot_*_generic, formula by formula.
//
// Inside a block everything is integer arithmetic, exact in any order. The float part (where
// the integer sum meets the scales, and how block results are summed) follows ggml's operation
// order exactly, because float addition is not associative: sumi·d_w·d_x for Q4_0 but
// sumi·(d_w·d_x) for Q8_0 is ggml's own inconsistency, kept on purpose.
#include <cassert>

#include "llm/config/dtype.h"
#include "llm/quant/blocks.h"
#include "llm/quant/vec_dot.h"

namespace llm {

float vec_dot_q8_0_q8_0(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q8_0*>(vw);
  const auto* x = static_cast<const block_q8_0*>(vx);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += w[b].qs[j] * x[b].qs[j];
    sum += sumi * (f16_to_f32(w[b].d) * f16_to_f32(x[b].d));
  }
  return sum;
}

float vec_dot_q4_0_q8_0(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q4_0*>(vw);
  const auto* x = static_cast<const block_q8_0*>(vx);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int v0 = (w[b].qs[j] & 0x0F) - 8;  // element j
      const int v1 = (w[b].qs[j] >> 4) - 8;    // element j + 16
      sumi += v0 * x[b].qs[j] + v1 * x[b].qs[j + kQK / 2];
    }
    sum += sumi * f16_to_f32(w[b].d) * f16_to_f32(x[b].d);
  }
  return sum;
}

float vec_dot_q4_1_q8_1(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q4_1*>(vw);
  const auto* x = static_cast<const block_q8_1*>(vx);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int v0 = w[b].qs[j] & 0x0F;
      const int v1 = w[b].qs[j] >> 4;
      sumi += v0 * x[b].qs[j] + v1 * x[b].qs[j + kQK / 2];
    }
    // Σ (q·d_w + m)·(x_q·d_x) = d_w·d_x·Σ q·x_q + m·(d_x·Σ x_q), and the last factor is s.
    sum +=
        (f16_to_f32(w[b].d) * f16_to_f32(x[b].d)) * sumi + f16_to_f32(w[b].m) * f16_to_f32(x[b].s);
  }
  return sum;
}

// The K-quant dot products keep eight partial float sums, lane l collecting the positions
// p ≡ l (mod 8) of every block: ggml's portable code is written that way so compilers can
// vectorize it, and keeping the same lanes keeps the same rounding.
float vec_dot_q4_K_q8_K(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* w = static_cast<const block_q4_K*>(vw);
  const auto* x = static_cast<const block_q8_K*>(vx);
  float lanes[8] = {};
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    // Unpack the 6-bit scales and mins (blocks.h has the layout).
    const uint8_t* s = w[b].scales;
    int sc[8], mn[8];
    for (int j = 0; j < 4; ++j) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
      sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
      mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    // Σ sc·q·x over the 4 groups of 64 values, laid out as in dequantize_row_q4_K: byte l of
    // group g holds value 64g+l (low nibble, sub-block 2g) and 64g+32+l (high, 2g+1). Both
    // positions are ≡ l (mod 8).
    int32_t acc[8] = {};
    for (int g = 0; g < kQK_K / 64; ++g) {
      const uint8_t* q = w[b].qs + 32 * g;
      const int8_t* xs = x[b].qs + 64 * g;
      for (int l = 0; l < 32; ++l)
        acc[l % 8] +=
            sc[2 * g] * ((q[l] & 0xF) * xs[l]) + sc[2 * g + 1] * ((q[l] >> 4) * xs[l + 32]);
    }
    // Σ dmin·m·x: the mins are constant over 32 values, so two bsums of 16 per min.
    int summs = 0;
    for (int j = 0; j < kQK_K / 16; ++j) summs += x[b].bsums[j] * mn[j / 2];

    const float d = f16_to_f32(w[b].d) * x[b].d;
    for (int l = 0; l < 8; ++l) lanes[l] += d * acc[l];
    const float dmin = f16_to_f32(w[b].dmin) * x[b].d;
    sum -= dmin * summs;
  }
  for (int l = 0; l < 8; ++l) sum += lanes[l];
  return sum;
}

float vec_dot_q6_K_q8_K(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* w = static_cast<const block_q6_K*>(vw);
  const auto* x = static_cast<const block_q8_K*>(vx);
  float lanes[8] = {};
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    // Σ scale·q·x, unpacking as dequantize_row_q6_K does: per half of 128 values, step l gives
    // values l, l+32, l+64, l+96 (all ≡ l mod 8), whose scales are 2 apart.
    int32_t acc[8] = {};
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qh = w[b].qh + 32 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      const int8_t* xs = x[b].qs + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        acc[l % 8] += sc[is] * (q1 * xs[l]) + sc[is + 2] * (q2 * xs[l + 32]) +
                      sc[is + 4] * (q3 * xs[l + 64]) + sc[is + 6] * (q4 * xs[l + 96]);
      }
    }
    const float d = f16_to_f32(w[b].d) * x[b].d;
    for (int l = 0; l < 8; ++l) lanes[l] += d * acc[l];
  }
  float sum = 0;
  for (int l = 0; l < 8; ++l) sum += lanes[l];
  return sum;
}

}  // namespace llm
