// exp_approx against the values llama.cpp's ggml_v_expf (AVX2) returns, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "llm/attention/exp_approx.h"

using llm::exp_approx;

namespace {

// {input bits, output bits} from ggml_v_expf in llama.cpp 0c1e570 (ggml-cpu/vec.h), compiled
// with -mavx2 -mfma, printed by golden/make_ggml_exp_golden.cpp: ordinary arguments, values near
// the edges of the float range (the two-step scaling path, subnormal results, saturation) and
// infinities.
constexpr uint32_t kGgml[][2] = {
    {0x00000000u, 0x3f800000u},  // exp(0) = 1 (expf 1)
    {0x80000000u, 0x3f800000u},  // exp(-0) = 1 (expf 1)
    {0x3f800000u, 0x402df855u},  // exp(1) = 2.71828198 (expf 2.71828175)
    {0xbf800000u, 0x3ebc5ab2u},  // exp(-1) = 0.36787945 (expf 0.36787945)
    {0x3f000000u, 0x3fd3094cu},  // exp(0.5) = 1.64872122 (expf 1.64872122)
    {0xbf317218u, 0x3f000000u},  // exp(-0.693147182) = 0.5 (expf 0.5)
    {0x40135d8du, 0x411ffffeu},  // exp(2.30258489) = 9.99999809 (expf 9.99999809)
    {0xc0a80000u, 0x3babf361u},  // exp(-5.25) = 0.00524751889 (expf 0.00524751842)
    {0x41200000u, 0x46ac14f0u},  // exp(10) = 22026.4688 (expf 22026.4648)
    {0xc18a6666u, 0x3303b967u},  // exp(-17.2999992) = 3.06694368e-08 (expf 3.06694368e-08)
    {0x42280000u, 0x5dc1192cu},  // exp(42) = 1.73927511e+18 (expf 1.73927498e+18)
    {0xc2280000u, 0x2129b22au},  // exp(-42) = 5.74952254e-19 (expf 5.74952202e-19)
    {0x42b10000u, 0x7f4cdcc3u},  // exp(88.5) = 2.72308772e+38 (expf 2.72308792e+38)
    {0xc2ae0000u, 0x00b33686u},  // exp(-87) = 1.64581131e-38 (expf 1.64581145e-38)
    {0xc2b1cccdu, 0x001acdfau},  // exp(-88.9000015) = 2.46161337e-39 (expf 2.46161337e-39)
    {0xc2be0000u, 0x00000f64u},  // exp(-95) = 5.52111595e-42 (expf 5.52111595e-42)
    {0xc2c80000u, 0x0000001bu},  // exp(-100) = 3.78350585e-44 (expf 3.78350585e-44)
    {0xc2d00000u, 0x00000000u},  // exp(-104) = 0 (expf 0)
    {0x42b20000u, 0x7f800000u},  // exp(89) = inf (expf inf)
    {0xb3d6bf95u, 0x3f7ffffeu},  // exp(-1.00000001e-07) = 0.999999881 (expf 0.999999881)
    {0x3b5844d0u, 0x3f806c50u},  // exp(0.00329999998) = 1.00330544 (expf 1.00330544)
    {0xbdfcd35bu, 0x3f624507u},  // exp(-0.123450004) = 0.883865774 (expf 0.883865833)
    {0xff800000u, 0x00000000u},  // exp(-inf) = 0 (expf 0)
    {0x7f800000u, 0x7f800000u},  // exp(inf) = inf (expf inf)
};

TEST(ExpApprox, BitEqualToGgmlVectorExp) {
  for (const auto& [in, out] : kGgml) {
    const float x = std::bit_cast<float>(in);
    EXPECT_EQ(std::bit_cast<uint32_t>(exp_approx(x)), out) << "exp_approx(" << x << ")";
  }
}

// It is an approximation: within a few ulps of the correctly rounded e^x over the range where
// e^x is a normal float, and different from expf() in the last bit for many inputs (which is
// why matching llama.cpp needs it at all).
TEST(ExpApprox, CloseToExpButNotEqual) {
  int differ = 0, total = 0;
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.00731f) {
    const double ref = std::exp(static_cast<double>(x));
    const float got = exp_approx(x);
    worst = std::max(worst, std::fabs(got - ref) / ref);
    differ += got != std::exp(x);
    ++total;
  }
  EXPECT_LT(worst, 4e-7);  // ggml: 1.92 ulps at worst (an ulp is 2^-23..2^-24 relative)
  EXPECT_GT(differ, total / 10) << "exp_approx should round differently from expf somewhere";
}

TEST(ExpApprox, SiluIsCloseToTheExactFunction) {
  for (float x : {-20.0f, -3.5f, -0.25f, 0.75f, 4.0f, 30.0f}) {
    const double exact = x / (1.0 + std::exp(-static_cast<double>(x)));
    EXPECT_NEAR(llm::silu_approx(x), exact, 4e-7 * std::fabs(exact)) << x;
  }
  EXPECT_EQ(llm::silu_approx(0.0f), 0.0f);
  EXPECT_EQ(llm::silu_approx(-200.0f), -0.0f);  // e^200 saturates to inf: x / inf
}

}  // namespace
