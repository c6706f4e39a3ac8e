// Known answers: blocks computed by hand, byte by byte, so the layouts (nibble order, scale
// packing, the sign rules) are pinned independently of any other implementation.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "llm/config/dtype.h"
#include "llm/quant/blocks.h"
#include "llm/quant/codecs.h"

using namespace llm;

namespace {

template <class Block>
std::vector<uint8_t> bytes_of(const Block& b) {
  std::vector<uint8_t> v(sizeof b);
  std::memcpy(v.data(), &b, sizeof b);
  return v;
}

// A little-endian uint16 followed by more bytes (a loop: g++ 12 warns falsely on insert here).
std::vector<uint8_t> hdr(uint16_t a, const std::vector<uint8_t>& rest) {
  std::vector<uint8_t> v(2 + rest.size());
  v[0] = static_cast<uint8_t>(a & 0xff);
  v[1] = static_cast<uint8_t>(a >> 8);
  for (size_t i = 0; i < rest.size(); ++i) v[2 + i] = rest[i];
  return v;
}

}  // namespace

// amax = 127 makes d = 1 (fp16 0x3c00) and 1/d = 1, so q = roundf(x): halves go away from zero.
TEST(KnownAnswer, Q8_0) {
  float x[kQK] = {127, -127, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, 3};
  block_q8_0 b;
  quantize_row_q8_0_ref(x, &b, kQK);
  std::vector<uint8_t> want = hdr(0x3c00, {0x7f, 0x81, 0x03, 0xfd, 0x01, 0xff, 0x01, 0x03});
  want.resize(34, 0);
  EXPECT_EQ(bytes_of(b), want);

  float y[kQK];
  dequantize_row_q8_0(&b, y, kQK);
  EXPECT_EQ(y[0], 127.0f);
  EXPECT_EQ(y[2], 3.0f);
  EXPECT_EQ(y[3], -3.0f);
}

// The same values as Q8_0, plus s = d·Σq = 1·(127 − 127 + 3 − 3 + 1 − 1 + 1 + 3) = 4 (0x4400).
TEST(KnownAnswer, Q8_1) {
  float x[kQK] = {127, -127, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, 3};
  block_q8_1 b;
  quantize_row_q8_1_ref(x, &b, kQK);
  std::vector<uint8_t> want =
      hdr(0x3c00, {0x00, 0x44, 0x7f, 0x81, 0x03, 0xfd, 0x01, 0xff, 0x01, 0x03});
  want.resize(36, 0);
  EXPECT_EQ(bytes_of(b), want);
}

// Values 0..15 are −8..7, values 16..31 are −4, −3.5, …, 3.5. The largest magnitude is −8, so
// d = −8/−8 = 1 and q = min(15, trunc(x + 8.5)): −3.5 → 5, −3 → 5 (5.5 truncates), …
// Byte j = q_j | q_{j+16} << 4.
TEST(KnownAnswer, Q4_0NibbleOrderAndRounding) {
  float x[kQK];
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(j - 8);
  for (int j = 16; j < 32; ++j) x[j] = (j - 16) * 0.5f - 4;
  const std::vector<uint8_t> qs = {0x40, 0x51, 0x52, 0x63, 0x64, 0x75, 0x76, 0x87,
                                   0x88, 0x99, 0x9a, 0xab, 0xac, 0xbd, 0xbe, 0xcf};
  block_q4_0 b;
  quantize_row_q4_0_ref(x, &b, kQK);
  EXPECT_EQ(bytes_of(b), hdr(0x3c00, qs));

  float y[kQK];
  dequantize_row_q4_0(&b, y, kQK);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[15], 7.0f);
  EXPECT_EQ(y[17], -3.0f);  // −3.5 rounded up to level 5
  EXPECT_EQ(y[31], 4.0f);   // 3.5 rounded up to level 12
}

// Q4_0 keeps the sign of the extreme value: negating the block only flips d's sign bit, since
// the extreme value must land on level 0 (−8·d), the level that has no mirror image.
TEST(KnownAnswer, Q4_0SignRule) {
  float x[kQK];
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(8 - j);  // extreme value +8
  for (int j = 16; j < 32; ++j) x[j] = 4 - (j - 16) * 0.5f;
  block_q4_0 b;
  quantize_row_q4_0_ref(x, &b, kQK);
  EXPECT_EQ(b.d, 0xbc00);  // d = 8/−8 = −1
  EXPECT_EQ(b.qs[0], 0x40);
  EXPECT_EQ(b.qs[15], 0xcf);
  // The mirror image −8 would need level 16: it clamps to 15 and decodes as −7.
  x[1] = -8;
  quantize_row_q4_0_ref(x, &b, kQK);
  EXPECT_EQ(b.qs[1] & 0x0f, 15);  // trunc(8 + 8.5) = 16 → min(15, 16)
  float y[kQK];
  dequantize_row_q4_0(&b, y, kQK);
  EXPECT_EQ(y[1], -7.0f);
}

// min = −1, max = 14: d = 1, m = −1. Values 0..15 are j − 1 (levels 0..15); values 16..31 are
// −1 + 0.5·k, levels trunc(0.5·k + 0.5) = 0, 1, 1, 2, 2, 3, …, 8.
TEST(KnownAnswer, Q4_1) {
  float x[kQK];
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(j - 1);
  for (int j = 16; j < 32; ++j) x[j] = -1 + 0.5f * (j - 16);
  const std::vector<uint8_t> want =
      hdr(0x3c00, {0x00, 0xbc, 0x00, 0x11, 0x12, 0x23, 0x24, 0x35, 0x36, 0x47, 0x48, 0x59, 0x5a,
                   0x6b, 0x6c, 0x7d, 0x7e, 0x8f});
  block_q4_1 b;
  quantize_row_q4_1_ref(x, &b, kQK);
  EXPECT_EQ(bytes_of(b), want);

  float y[kQK];
  dequantize_row_q4_1(&b, y, kQK);
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[15], 14.0f);
  EXPECT_EQ(y[18], 0.0f);  // x = 0: level 1 (1.5 truncates), value 1·1 − 1
}

// Q4_K decoding of a hand-packed block: d = 1, dmin = 0.5, eight 6-bit scales and mins, two
// nibble bytes set. Pins the 12-byte scale packing and the 64-value nibble groups.
TEST(KnownAnswer, Q4_KLayout) {
  const int sc[8] = {1, 2, 3, 4, 33, 47, 58, 63};
  const int mn[8] = {0, 5, 10, 15, 20, 40, 50, 60};
  block_q4_K b{};
  b.d = 0x3c00;
  b.dmin = 0x3800;
  const uint8_t scales[12] = {0x81, 0x82, 0xc3, 0xc4, 0x40, 0x85,
                              0xca, 0xcf, 0x41, 0x8f, 0x2a, 0xcf};
  std::memcpy(b.scales, scales, 12);
  b.qs[0] = 0x21;       // value 0 = 1 (low nibble), value 32 = 2 (high nibble)
  b.qs[32 + 7] = 0xf3;  // value 64+7 = 3, value 96+7 = 15
  float y[kQK_K];
  dequantize_row_q4_K(&b, y, kQK_K);
  for (int p = 0; p < kQK_K; ++p) {
    int q = 0;
    if (p == 0) q = 1;
    if (p == 32) q = 2;
    if (p == 71) q = 3;
    if (p == 103) q = 15;
    EXPECT_EQ(y[p], 1.0f * sc[p / 32] * q - 0.5f * mn[p / 32]) << "value " << p;
  }
}

// Q6_K decoding of a hand-packed block: d = 0.25, scales −8..7, a few ql/qh bytes set. Every
// other value has level 0, i.e. q = −32.
TEST(KnownAnswer, Q6_KLayout) {
  block_q6_K b{};
  b.d = 0x3400;
  for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(j - 8);
  b.ql[0] = 0x21;       // low 4 bits: value 0 ← 1, value 64 ← 2
  b.qh[0] = 0xe4;       // high 2 bits: value 0 ← 0, 32 ← 1, 64 ← 2, 96 ← 3
  b.ql[64 + 5] = 0x7f;  // second half: value 133 ← 15, value 197 ← 7
  b.qh[32 + 5] = 0x1b;  // value 133 ← 3, 165 ← 2, 197 ← 1, 229 ← 0
  int level[kQK_K] = {};
  level[0] = 1;
  level[32] = 1 << 4;
  level[64] = 2 | (2 << 4);
  level[96] = 3 << 4;
  level[133] = 15 | (3 << 4);
  level[165] = 2 << 4;
  level[197] = 7 | (1 << 4);
  float y[kQK_K];
  dequantize_row_q6_K(&b, y, kQK_K);
  for (int p = 0; p < kQK_K; ++p)
    EXPECT_EQ(y[p], 0.25f * (p / 16 - 8) * (level[p] - 32)) << "value " << p;
}

// Q8_K maps the extreme value to −127 whatever its sign (here +127 → d = −1), rounds ties to
// even (not away from zero like Q8_0), and keeps the sum of each 16 quants.
TEST(KnownAnswer, Q8_K) {
  float x[kQK_K] = {127, 2.5f, -1.5f, 0.5f, -0.5f, 3.5f};
  x[16] = 10;
  block_q8_K b;
  quantize_row_q8_K_ref(x, &b, kQK_K);
  EXPECT_EQ(b.d, -1.0f);
  const int8_t want[6] = {-127, -2, 2, 0, 0, -4};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j], want[j]) << j;
  EXPECT_EQ(b.qs[16], -10);
  EXPECT_EQ(b.bsums[0], -127 - 2 + 2 - 4);
  EXPECT_EQ(b.bsums[1], -10);
  for (int g = 2; g < 16; ++g) EXPECT_EQ(b.bsums[g], 0);
}

TEST(KnownAnswer, NearestIntRoundsHalfToEven) {
  EXPECT_EQ(detail::nearest_int(0.5f), 0);
  EXPECT_EQ(detail::nearest_int(1.5f), 2);
  EXPECT_EQ(detail::nearest_int(2.5f), 2);
  EXPECT_EQ(detail::nearest_int(-0.5f), 0);
  EXPECT_EQ(detail::nearest_int(-1.5f), -2);
  EXPECT_EQ(detail::nearest_int(-2.7f), -3);
  EXPECT_EQ(detail::nearest_int(4194303.f), 4194303);
  EXPECT_EQ(detail::nearest_int(-4194303.f), -4194303);
}
