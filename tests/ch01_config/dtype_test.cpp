#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "llm/config/dtype.h"
#include "llm/config/error.h"
#include "llm/config/registry.h"
#include "llm/config/tensor.h"

using namespace llm;

TEST(DType, LayoutsMatchGgml) {
  EXPECT_EQ(dtype_layout(DType::Q4_1).block_bytes, 20);
  EXPECT_EQ(dtype_layout(DType::Q8_0).block_bytes, 34);
  EXPECT_EQ(dtype_layout(DType::Q4_K).block_bytes, 144);
  EXPECT_EQ(dtype_layout(DType::Q6_K).block_bytes, 210);
  EXPECT_EQ(row_bytes(DType::Q4_1, 576), 576 / 32 * 20u);
  EXPECT_EQ(row_bytes(DType::F16, 7), 14u);
  EXPECT_THROW(row_bytes(DType::Q4_0, 172), Error);  // stories260K's hidden size
  EXPECT_FALSE(dtype_from_id(20).has_value());       // IQ types are refused
  EXPECT_EQ(dtype_from_id(30), DType::BF16);
  // Names and ids lead to the same type, for every type there is (Q8_K included).
  for (uint32_t id = 0; id < kMaxDTypeId; ++id)
    if (const auto t = dtype_from_id(id)) {
      EXPECT_EQ(dtype_from_name(dtype_name(*t)), t) << id;
    }
  EXPECT_EQ(dtype_from_name("q8_k"), DType::Q8_K);
  EXPECT_FALSE(dtype_from_name("q5_0").has_value());
}

TEST(DType, F16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(DType, F16KnownValuesAndRounding) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));             // smallest subnormal
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                          // rounds to infinity
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie -> even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);             // tie at the bottom -> 0
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);             // 1.5 units -> 2
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
}

TEST(DType, F16MatchesNearestOnRandomFloats) {
  // Reference: pick whichever neighbouring half is nearer (ties to even mantissa).
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float f = std::ldexp(static_cast<float>(state >> 8) / (1 << 24) - 0.5f,
                               static_cast<int>(state % 40) - 25);
    const uint16_t h = f32_to_f16(f);
    const double got = f16_to_f32(h);
    const double down = f16_to_f32(static_cast<uint16_t>(h - ((h & 0x7fff) ? 1 : 0)));
    const double up = f16_to_f32(static_cast<uint16_t>(h + 1));
    ASSERT_LE(std::fabs(got - f), std::fabs(down - f) + 1e-30) << f;
    ASSERT_LE(std::fabs(got - f), std::fabs(up - f) + 1e-30) << f;
  }
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie -> even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
}

TEST(Tensor, OwningBorrowingAndConversion) {
  const float vals[6] = {1, -2, 3.5f, 0.25f, -0.125f, 1e-3f};
  Tensor t = Tensor::from_f32(vals, {2, 3});
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(t.cols(), 3);
  EXPECT_EQ(t.row_stride(), 12u);
  std::vector<uint16_t> half(6);
  for (int i = 0; i < 6; ++i) half[static_cast<size_t>(i)] = f32_to_f16(vals[i]);
  Tensor h = Tensor::borrow(half.data(), DType::F16, {3, 2});
  const auto back = h.to_f32();
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(back[static_cast<size_t>(i)], vals[i], 1e-3);
  EXPECT_EQ(t.reshaped({6}).cols(), 6);
  EXPECT_THROW(t.reshaped({4}), Error);
  EXPECT_THROW(Tensor::borrow(half.data(), DType::F16, {0, 2}), Error);
}

TEST(Registry, BestVariantAndDuplicates) {
  Registry r;
  register_config(r);
  auto to_f32 = r.get<ToF32Fn>("to_f32/f16");
  uint16_t h = 0x3c00;
  float f = 0;
  to_f32(&h, &f, 1);
  EXPECT_EQ(f, 1.0f);
  EXPECT_THROW(register_config(r), Error);  // a chain registered twice
  r.add({"op", "ref", 0, {}, ToF32Fn{nullptr}, ""});
  r.add({"op", "fast", 5, [] { return false; }, ToF32Fn{nullptr}, ""});
  EXPECT_EQ(r.best("op")->variant, "ref");  // the fast one is not available here
  EXPECT_EQ(r.variants("op").size(), 2u);
  EXPECT_THROW(r.get<int>("op"), Error);
  EXPECT_THROW(r.get<ToF32Fn>("missing"), Error);
}
