// Reference quantized dot products, summed in the order llama.cpp runs them.
//
// Inside a block everything is integer arithmetic, exact in any order. The float part — where
// the integer sums meet the scales and how blocks add up — is not associative, and on a
// 30-layer model with quantized activations a last-bit difference in one dot product flips an
// activation code in the next layer and moves the logits by tenths. So the 32-value block
// types follow llama.cpp's x86 (AVX2) code exactly, in plain scalar C++:
//   - eight float lanes; lane j holds the integer sum of the block's elements 4j..4j+3;
//   - each block adds d_w·d_x · lane_j to lane j with ONE rounding (a fused multiply-add);
//   - at the end the lanes are summed as hsum_float_8 does: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
// (ggml's portable _generic code keeps one running sum instead; it is what ARM-less, AVX-less
// builds run, and it rounds differently.) Q4_0 has a second x86 order: llama.cpp repacks Q4_0
// matrices whose row count is a multiple of 8 into interleaved blocks of 8 rows (ggml-cpu's
// repack.cpp, q4_0_8x8) and their kernels keep ONE float per row, adding each block's whole
// integer sum times d_w·d_x with a fused multiply-add: vec_dot_q4_0_q8_0_serial. The K-quants
// keep ggml's portable order below.
#include <cassert>
#include <cmath>

#include "llm/config/dtype.h"
#include "llm/quant/blocks.h"
#include "llm/quant/vec_dot.h"

namespace llm {
namespace {

// The eight lanes of an AVX2 float accumulator.
struct Lanes {
  float l[8] = {};
  // lane j += d · sums[j], rounded once
  void fma_block(float d, const int (&sums)[8]) {
    for (int j = 0; j < 8; ++j) l[j] = std::fma(d, static_cast<float>(sums[j]), l[j]);
  }
  float horizontal_sum() const {
    const float t0 = l[0] + l[4], t1 = l[1] + l[5], t2 = l[2] + l[6], t3 = l[3] + l[7];
    return (t0 + t2) + (t1 + t3);
  }
};

// Integer sums of w[e]·x[e] over e = 4j..4j+3 for j = 0..7 (w already unpacked to 32 values).
void lane_sums(const int (&w)[kQK], const int8_t* x, int (&sums)[8]) {
  for (int j = 0; j < 8; ++j)
    sums[j] = w[4 * j] * x[4 * j] + w[4 * j + 1] * x[4 * j + 1] + w[4 * j + 2] * x[4 * j + 2] +
              w[4 * j + 3] * x[4 * j + 3];
}

// Q4 nibbles in value order: byte j holds value j (low nibble) and value j + 16 (high).
void unpack_nibbles(const uint8_t* qs, int offset, int (&w)[kQK]) {
  for (int j = 0; j < kQK / 2; ++j) {
    w[j] = (qs[j] & 0x0F) - offset;
    w[j + kQK / 2] = (qs[j] >> 4) - offset;
  }
}

}  // namespace

float vec_dot_q8_0_q8_0(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q8_0*>(vw);
  const auto* x = static_cast<const block_q8_0*>(vx);
  Lanes acc;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int wv[kQK], sums[8];
    for (int j = 0; j < kQK; ++j) wv[j] = w[b].qs[j];
    lane_sums(wv, x[b].qs, sums);
    acc.fma_block(f16_to_f32(w[b].d) * f16_to_f32(x[b].d), sums);
  }
  return acc.horizontal_sum();
}

float vec_dot_q4_0_q8_0(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q4_0*>(vw);
  const auto* x = static_cast<const block_q8_0*>(vx);
  Lanes acc;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int wv[kQK], sums[8];
    unpack_nibbles(w[b].qs, 8, wv);  // levels 0..15 stand for −8..7
    lane_sums(wv, x[b].qs, sums);
    acc.fma_block(f16_to_f32(w[b].d) * f16_to_f32(x[b].d), sums);
  }
  return acc.horizontal_sum();
}

float vec_dot_q4_0_q8_0_serial(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q4_0*>(vw);
  const auto* x = static_cast<const block_q8_0*>(vx);
  float acc = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int wv[kQK], sums[8];
    unpack_nibbles(w[b].qs, 8, wv);
    lane_sums(wv, x[b].qs, sums);
    int block_sum = 0;  // exact: at most 32·8·128 in magnitude
    for (int s : sums) block_sum += s;
    acc = std::fma(static_cast<float>(block_sum), f16_to_f32(w[b].d) * f16_to_f32(x[b].d), acc);
  }
  return acc;
}

float vec_dot_q4_1_q8_1(const void* vw, const void* vx, int64_t n) {
  assert(n % kQK == 0);
  const auto* w = static_cast<const block_q4_1*>(vw);
  const auto* x = static_cast<const block_q8_1*>(vx);
  Lanes acc;
  float summs = 0;  // Σ m·s, kept apart as a plain running sum
  for (int64_t b = 0; b < n / kQK; ++b) {
    int wv[kQK], sums[8];
    unpack_nibbles(w[b].qs, 0, wv);
    lane_sums(wv, x[b].qs, sums);
    // Σ (q·d_w + m)·(x_q·d_x) = d_w·d_x·Σ q·x_q + m·(d_x·Σ x_q), and the last factor is s.
    summs += f16_to_f32(w[b].m) * f16_to_f32(x[b].s);
    acc.fma_block(f16_to_f32(w[b].d) * f16_to_f32(x[b].d), sums);
  }
  return acc.horizontal_sum() + summs;
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
