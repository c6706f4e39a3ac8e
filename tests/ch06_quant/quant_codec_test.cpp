// Round trips: dequantize(quantize(x)) stays within each format's error bound, on random data
// and on the blocks that break careless quantizers (zeros, constants, outliers, sign).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "golden_inputs.h"
#include "llm/config/error.h"
#include "llm/quant/blocks.h"
#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

std::vector<float> fill(int golden_case, int64_t n, uint64_t seed = 5) {
  std::vector<float> x(static_cast<size_t>(n));
  golden_fill(golden_case, seed, x.data(), n);
  return x;
}

std::vector<float> round_trip(const QuantType& qt, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<std::byte> q(row_bytes(qt.weight, n));
  qt.quantize(x.data(), q.data(), n);
  std::vector<float> y(x.size());
  qt.dequantize(q.data(), y.data(), n);
  return y;
}

// Random data of every shape golden_inputs.h knows: uniform, bell, block scales 2^-6..2^6,
// and the edge mix (outliers, zeros, constant and all-positive blocks).
const int kCases[] = {0, 1, 2, 3, 4};
constexpr int64_t kN = 8192;

}  // namespace

// Q8_0: q = round(x/d) with d = amax/127, so |x − q·d| ≤ d/2; storing d as fp16 D adds
// |q|·|D − d| ≤ 127·|D − d|.
TEST(RoundTrip, Q8_0WithinHalfAStep) {
  for (int c : kCases) {
    const auto x = fill(c, kN);
    std::vector<block_q8_0> q(kN / kQK);
    quantize_row_q8_0_ref(x.data(), q.data(), kN);
    std::vector<float> y(kN);
    dequantize_row_q8_0(q.data(), y.data(), kN);
    for (int64_t b = 0; b < kN / kQK; ++b) {
      float amax = 0;
      for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[b * kQK + j]));
      const float d = amax / 127, D = f16_to_f32(q[b].d);
      const float bound = 0.5f * d + 127 * std::fabs(D - d) + 1e-6f * amax;
      for (int j = 0; j < kQK; ++j)
        ASSERT_LE(std::fabs(y[b * kQK + j] - x[b * kQK + j]), bound)
            << "case " << golden_case_names[c] << " block " << b << " value " << j;
    }
  }
}

// Q4_0: |x − (q − 8)·d| ≤ |d|/2, except values on the short side of the grid beyond 7.5·|d|,
// which clamp to level 15 and may be off by up to |d| (the asymmetric grid's price).
TEST(RoundTrip, Q4_0WithinHalfAStepExceptTheClampedEnd) {
  for (int c : kCases) {
    const auto x = fill(c, kN);
    std::vector<block_q4_0> q(kN / kQK);
    quantize_row_q4_0_ref(x.data(), q.data(), kN);
    std::vector<float> y(kN);
    dequantize_row_q4_0(q.data(), y.data(), kN);
    for (int64_t b = 0; b < kN / kQK; ++b) {
      const float* xb = x.data() + b * kQK;
      float amax = 0, max = 0;
      for (int j = 0; j < kQK; ++j)
        if (std::fabs(xb[j]) > amax) amax = std::fabs(xb[j]), max = xb[j];
      const float d = max / -8, D = f16_to_f32(q[b].d);
      const float fp16_err = 8 * std::fabs(D - d) + 1e-6f * amax;
      for (int j = 0; j < kQK; ++j) {
        const bool clamped = d != 0 && xb[j] / d > 7.5f;
        const float bound = (clamped ? std::fabs(d) : 0.5f * std::fabs(d)) + fp16_err;
        ASSERT_LE(std::fabs(y[b * kQK + j] - xb[j]), bound)
            << "case " << golden_case_names[c] << " block " << b << " value " << j;
      }
      // The sign rule: the extreme value always lands on level 0.
      for (int j = 0; j < kQK; ++j) {
        if (xb[j] == max && amax > 0) {
          const int nib = j < 16 ? q[b].qs[j] & 0xF : q[b].qs[j - 16] >> 4;
          ASSERT_EQ(nib, 0) << "block " << b;
        }
      }
    }
  }
}

// Q4_1: |x − (q·d + min)| ≤ d/2 with d = (max − min)/15, plus fp16 rounding of d and of m.
// The block's min lands on level 0 and its max on level 15.
TEST(RoundTrip, Q4_1WithinHalfAStep) {
  for (int c : kCases) {
    const auto x = fill(c, kN);
    std::vector<block_q4_1> q(kN / kQK);
    quantize_row_q4_1_ref(x.data(), q.data(), kN);
    std::vector<float> y(kN);
    dequantize_row_q4_1(q.data(), y.data(), kN);
    for (int64_t b = 0; b < kN / kQK; ++b) {
      const float* xb = x.data() + b * kQK;
      const float mn = *std::min_element(xb, xb + kQK), mx = *std::max_element(xb, xb + kQK);
      const float d = (mx - mn) / 15, D = f16_to_f32(q[b].d), M = f16_to_f32(q[b].m);
      const float bound = 0.5f * d + 15 * std::fabs(D - d) + std::fabs(M - mn) +
                          1e-6f * std::max(std::fabs(mn), std::fabs(mx));
      for (int j = 0; j < kQK; ++j) {
        ASSERT_LE(std::fabs(y[b * kQK + j] - xb[j]), bound)
            << "case " << golden_case_names[c] << " block " << b << " value " << j;
        const int nib = j < 16 ? q[b].qs[j] & 0xF : q[b].qs[j - 16] >> 4;
        if (d != 0 && xb[j] == mn) {
          ASSERT_EQ(nib, 0);
        }
        if (d != 0 && xb[j] == mx) {
          ASSERT_EQ(nib, 15);
        }
      }
    }
  }
}

// K-quants fit each sub-block by least squares, so there is no simple per-value bound; their
// normalised mean squared error is the measure (values measured on these inputs, with ~30%
// margin): Q4_K beats Q4_1 and Q4_0 at 4.5 bits per weight, Q6_K is 15-20x better still.
TEST(RoundTrip, KQuantsNmse) {
  struct Want {
    DType type;
    double uniform, bell;
  };
  const Want wants[] = {{DType::Q8_0, 2e-5, 3.5e-5},
                        {DType::Q4_0, 5.5e-3, 8.5e-3},
                        {DType::Q4_1, 5e-3, 7.5e-3},
                        {DType::Q4_K, 4e-3, 6e-3},
                        {DType::Q6_K, 2.3e-4, 3.8e-4}};
  double bell_nmse[5] = {};
  int i = 0;
  for (const Want& w : wants) {
    const QuantType& qt = *find_quant_type(w.type);
    const auto u = fill(0, 1 << 15), g = fill(1, 1 << 15);
    const double nu = t::nmse(round_trip(qt, u), u), ng = t::nmse(round_trip(qt, g), g);
    EXPECT_LE(nu, w.uniform) << dtype_name(w.type);
    EXPECT_LE(ng, w.bell) << dtype_name(w.type);
    bell_nmse[i++] = ng;
  }
  EXPECT_LT(bell_nmse[3], bell_nmse[2]);  // q4_k < q4_1
  EXPECT_LT(bell_nmse[2], bell_nmse[1]);  // q4_1 < q4_0
  EXPECT_LT(bell_nmse[4], bell_nmse[3] / 10);
}

// An all-zero block decodes to zeros. Its bytes are all zero, except Q4_0's: d = 0/−8 is −0
// (fp16 0x8000), and 1/d being replaced by 0 makes every value 0 + 8.5, i.e. level 8 (which
// decodes to 0), so each nibble byte is 0x88. llama.cpp writes exactly these bytes.
TEST(RoundTrip, ZeroBlocks) {
  std::vector<float> x(kQK_K, 0.0f), y(kQK_K, 1.0f);
  for (const QuantType& qt : quant_types()) {
    std::vector<uint8_t> q(row_bytes(qt.weight, kQK_K), 0xAA);
    qt.quantize(x.data(), q.data(), kQK_K);
    qt.dequantize(q.data(), y.data(), kQK_K);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(qt.weight);
    for (size_t i = 0; i < q.size(); ++i) {
      int want = 0x00;
      if (qt.weight == DType::Q4_0) want = i % 18 == 0 ? 0x00 : i % 18 == 1 ? 0x80 : 0x88;
      ASSERT_EQ(q[i], want) << dtype_name(qt.weight) << " byte " << i;
    }
  }
  block_q8_K a[1];
  std::memset(a, 0xAA, sizeof a);
  quantize_row_q8_K_ref(x.data(), a, kQK_K);
  EXPECT_EQ(a[0].d, 0.0f);
  for (int16_t s : a[0].bsums) EXPECT_EQ(s, 0);  // (ggml leaves these unwritten)
}

// A constant block is exact up to the fp16 rounding of its scale (a relative 2^-11, twice).
// Not for tiny blocks: Q6_K's d is about amax/4096, an fp16 subnormal below amax ≈ 0.25 that
// keeps fewer bits as it shrinks (at 0.1 still ~9 bits; at 1e-3 the error is ~2%).
TEST(RoundTrip, ConstantBlocks) {
  for (float c : {-0.25f, 0.75f, 3.0f, -1000.0f, 0.1f}) {
    const std::vector<float> x(kQK_K, c);
    for (const QuantType& qt : quant_types())
      for (float v : round_trip(qt, x))
        ASSERT_NEAR(v, c, 1.5e-3 * std::fabs(c)) << dtype_name(qt.weight) << " c = " << c;
  }
}

// One huge value among small ones: the outlier itself survives (it sets the scale) and the
// small values collapse towards zero, but nothing overflows or turns into NaN.
TEST(RoundTrip, SingleHugeOutlier) {
  std::vector<float> x = fill(0, kQK_K);
  for (float& v : x) v *= 0.01f;
  x[37] = 1000.0f;
  for (const QuantType& qt : quant_types()) {
    const auto y = round_trip(qt, x);
    EXPECT_NEAR(y[37], 1000.0f, 10.0f) << dtype_name(qt.weight);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_LE(std::fabs(y[i] - x[i]), 1000.0f / 7) << dtype_name(qt.weight) << " value " << i;
  }
}

TEST(QuantizeTensor, QuantizesAndDequantizesWholeTensors) {
  const auto values = fill(4, 6 * 512);
  const Tensor src = Tensor::from_f32(values, {6, 512});
  for (const QuantType& qt : quant_types()) {
    const Tensor q = quantize_tensor(src, qt.weight);
    EXPECT_EQ(q.dtype(), qt.weight);
    EXPECT_EQ(q.shape(), src.shape());
    const Tensor back = dequantize_tensor(q);
    const std::vector<float> expect = round_trip(qt, values);  // rows are whole blocks
    ASSERT_EQ(std::memcmp(back.data(), expect.data(), expect.size() * sizeof(float)), 0)
        << dtype_name(qt.weight);
  }
  // Any source: a Q4_1 tensor re-quantized to Q8_0 equals quantizing its dequantized values.
  const Tensor q41 = quantize_tensor(src, DType::Q4_1);
  const Tensor q80 = quantize_tensor(q41, DType::Q8_0);
  const Tensor direct = quantize_tensor(dequantize_tensor(q41), DType::Q8_0);
  EXPECT_EQ(std::memcmp(q80.data(), direct.data(), q80.nbytes()), 0);
  // Scalar targets.
  const Tensor h = quantize_tensor(src, DType::F16);
  EXPECT_EQ(h.dtype(), DType::F16);
  EXPECT_LE(t::max_abs_diff(dequantize_tensor(h).to_f32(), values), 1e-4);
  EXPECT_EQ(dequantize_tensor(quantize_tensor(src, DType::F32)).to_f32(), values);
}

TEST(QuantizeTensor, RefusesWhatCannotBeStored) {
  const Tensor odd = Tensor::from_f32(std::vector<float>(2 * 172, 0.5f), {2, 172});
  EXPECT_THROW(quantize_tensor(odd, DType::Q4_0), Error);  // stories260K's hidden size
  EXPECT_NO_THROW(quantize_tensor(odd, DType::F16));
  const Tensor k = Tensor::from_f32(std::vector<float>(2 * 96, 0.5f), {2, 96});
  EXPECT_NO_THROW(quantize_tensor(k, DType::Q4_1));
  EXPECT_THROW(quantize_tensor(k, DType::Q4_K), Error);  // 96 is not a multiple of 256
  const Tensor ok = Tensor::from_f32(std::vector<float>(256, 0.5f), {1, 256});
  EXPECT_THROW(quantize_tensor(ok, DType::Q8_K), Error);  // activation-only type
}
