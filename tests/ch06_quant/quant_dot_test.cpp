// Quantized dot products and matmuls against float arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "llm/config/error.h"
#include "llm/quant/blocks.h"
#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

constexpr int64_t kRow = 4096;
constexpr int kRows = 8;

std::vector<std::byte> quantize(FromF32Fn f, DType type, const std::vector<float>& x) {
  std::vector<std::byte> q(row_bytes(type, static_cast<int64_t>(x.size())));
  f(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

// The f32 values an activation row stands for (Q8_1 has no registered decoder: d·q by hand).
std::vector<float> decode_activation(DType type, const std::byte* q, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  if (type == DType::Q8_1) {
    const auto* b = reinterpret_cast<const block_q8_1*>(q);
    for (int64_t i = 0; i < n; ++i) x[i] = b[i / kQK].qs[i % kQK] * f16_to_f32(b[i / kQK].d);
  } else {
    row_to_f32(type, q, x.data(), n);
  }
  return x;
}

struct DotErrors {
  double vs_decoded = 0;  // |vec_dot − Σ decoded w · decoded x| / Σ |w·x|
  double vs_f32 = 0;      // |vec_dot − Σ w · x| / Σ |w·x|
};

DotErrors dot_errors(const QuantType& qt, VecDotFn dot) {
  const auto w = t::random_floats(kRows * kRow, 21);
  const auto x = t::random_floats(kRows * kRow, 22);
  const auto wq = quantize(qt.quantize, qt.weight, w);
  const auto xq = quantize(qt.quantize_activation, qt.activation, x);
  DotErrors e;
  for (int r = 0; r < kRows; ++r) {
    const std::byte* wr = wq.data() + row_bytes(qt.weight, r * kRow);
    const std::byte* xr = xq.data() + row_bytes(qt.activation, r * kRow);
    std::vector<float> wd(kRow);
    qt.dequantize(wr, wd.data(), kRow);
    const auto xd = decode_activation(qt.activation, xr, kRow);
    double exact = 0, decoded = 0, scale = 0;
    for (int64_t i = 0; i < kRow; ++i) {
      exact += static_cast<double>(w[r * kRow + i]) * x[r * kRow + i];
      decoded += static_cast<double>(wd[i]) * xd[i];
      scale += std::fabs(static_cast<double>(w[r * kRow + i]) * x[r * kRow + i]);
    }
    const double got = dot(wr, xr, kRow);
    e.vs_decoded = std::max(e.vs_decoded, std::fabs(got - decoded) / scale);
    e.vs_f32 = std::max(e.vs_f32, std::fabs(got - exact) / scale);
  }
  return e;
}

}  // namespace

// The integer dot product computes exactly Σ decoded w · decoded x, up to float rounding —
// except Q4_1's min term, which uses Q8_1's s = d·Σq rounded to fp16 (relative 2^-11 of it).
// The repacked order (one running sum) computes the same sum, rounded differently.
TEST(VecDot, EqualsTheDotOfTheDecodedValues) {
  for (const QuantType& qt : quant_types()) {
    const double tol = qt.weight == DType::Q4_1 ? 1e-4 : 1e-6;
    EXPECT_LE(dot_errors(qt, qt.vec_dot).vs_decoded, tol) << dtype_name(qt.weight);
    if (qt.vec_dot_repacked) {
      EXPECT_LE(dot_errors(qt, qt.vec_dot_repacked).vs_decoded, tol) << dtype_name(qt.weight);
    }
  }
}

// ... and it is a different rounding: the two orders disagree in the last bits somewhere.
TEST(VecDot, RepackedOrderRoundsDifferently) {
  const QuantType& qt = *find_quant_type(DType::Q4_0);
  ASSERT_NE(qt.vec_dot_repacked, nullptr);
  const auto wq = quantize(qt.quantize, qt.weight, t::random_floats(kRows * kRow, 23));
  const auto xq =
      quantize(qt.quantize_activation, qt.activation, t::random_floats(kRows * kRow, 24));
  int differ = 0;
  for (int r = 0; r < kRows; ++r) {
    const std::byte* wr = wq.data() + row_bytes(qt.weight, r * kRow);
    const std::byte* xr = xq.data() + row_bytes(qt.activation, r * kRow);
    differ += qt.vec_dot(wr, xr, kRow) != qt.vec_dot_repacked(wr, xr, kRow);
  }
  EXPECT_GT(differ, 0);
}

// Against the float dot, the error is that of quantizing both operands. Stated tolerances
// (relative to Σ|w·x| over rows of 4096 uniform values; measured 2.5e-4 for q8_0, 6e-4 for
// q6_k, 1.8e-3 to 3e-3 for the 4-bit types).
TEST(VecDot, ApproximatesTheFloatDot) {
  for (const QuantType& qt : quant_types()) {
    const bool eight_or_six = qt.weight == DType::Q8_0 || qt.weight == DType::Q6_K;
    EXPECT_LE(dot_errors(qt, qt.vec_dot).vs_f32, eight_or_six ? 1e-3 : 5e-3)
        << dtype_name(qt.weight);
  }
}

// matmul "ref" = vec_dot of every weight row with every quantized activation row, bit for bit
// (vec_dot_repacked for a matrix of 8k rows, which llama.cpp would repack); and close to a float
// matmul of the dequantized weights (the activations' quantization error).
TEST(QuantMatmul, AgreesWithDequantizeThenFloatMatmul) {
  constexpr int kIn = 512;
  for (const int kOut : {40, 36})
    for (const QuantType& qt : quant_types()) {
      const VecDotFn dot = qt.vec_dot_repacked && kOut % 8 == 0 ? qt.vec_dot_repacked : qt.vec_dot;
      const Tensor w = quantize_tensor(
          Tensor::from_f32(t::random_floats(kOut * kIn, 31), {kOut, kIn}), qt.weight);
      const std::vector<float> wd = dequantize_tensor(w).to_f32();
      for (int n : {1, 3, 17}) {
        const auto x = t::random_floats(static_cast<size_t>(n) * kIn, 32 + n);
        std::vector<float> y(static_cast<size_t>(n) * kOut, -1.0f), ref(y.size());
        qt.matmul(w, x.data(), n, y.data());
        std::vector<std::byte> xq(row_bytes(qt.activation, kIn));
        for (int i = 0; i < n; ++i) {
          qt.quantize_activation(x.data() + i * kIn, xq.data(), kIn);
          for (int r = 0; r < kOut; ++r) {
            ASSERT_EQ(y[i * kOut + r], dot(w.row(r), xq.data(), kIn))
                << dtype_name(qt.weight) << " " << kOut << " rows, n=" << n << " row " << r;
            double s = 0;
            for (int k = 0; k < kIn; ++k)
              s += static_cast<double>(wd[r * kIn + k]) * x[i * kIn + k];
            ref[i * kOut + r] = static_cast<float>(s);
          }
        }
        // 8-bit activations: NMSE around 1e-5 for Q8_0/Q8_1 blocks of 32, a little more for Q8_K.
        EXPECT_LE(t::nmse(y, ref), 1e-4) << dtype_name(qt.weight) << " n=" << n;
      }
    }
}

// The activation buffer is reused across calls: growing and shrinking n must not leak values.
TEST(QuantMatmul, ReusesItsBufferSafely) {
  const QuantType& qt = *find_quant_type(DType::Q4_K);
  const Tensor w =
      quantize_tensor(Tensor::from_f32(t::random_floats(8 * 256, 41), {8, 256}), qt.weight);
  const auto x = t::random_floats(9 * 256, 42);
  std::vector<float> one(8), many(9 * 8), again(8);
  qt.matmul(w, x.data(), 1, one.data());
  qt.matmul(w, x.data(), 9, many.data());
  qt.matmul(w, x.data(), 1, again.data());
  EXPECT_EQ(one, again);
  EXPECT_EQ(std::vector<float>(many.begin(), many.begin() + 8), one);
}

TEST(QuantMatmul, RejectsTheWrongWeightType) {
  const Tensor w =
      quantize_tensor(Tensor::from_f32(t::random_floats(4 * 64, 1), {4, 64}), DType::Q4_0);
  const std::vector<float> x(64, 1.0f);
  std::vector<float> y(4);
  EXPECT_THROW(matmul_q4_1_ref(w, x.data(), 1, y.data()), Error);
  EXPECT_NO_THROW(matmul_q4_0_ref(w, x.data(), 1, y.data()));
  // A weight whose rows are not whole blocks cannot even be built.
  EXPECT_THROW(Tensor::zeros(DType::Q4_K, {4, 64}), Error);
}
