#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "llm/attention/rope.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

TEST(Rope, InterleavedMatchesTheFormula) {
  const int hd = 16, pos = 37;
  const float base = 10000.0f;
  auto x = t::random_floats(hd, 1);
  auto y = x;
  rope_interleaved(y.data(), 1, hd, pos, base);
  for (int i = 0; i < hd / 2; ++i) {
    const double a = pos * std::pow(static_cast<double>(base), -2.0 * i / hd);
    const double x0 = x[static_cast<size_t>(2 * i)], x1 = x[static_cast<size_t>(2 * i + 1)];
    EXPECT_NEAR(y[static_cast<size_t>(2 * i)], x0 * std::cos(a) - x1 * std::sin(a), 2e-5);
    EXPECT_NEAR(y[static_cast<size_t>(2 * i + 1)], x0 * std::sin(a) + x1 * std::cos(a), 2e-5);
  }
}

TEST(Rope, PreservesNormAndPositionZeroIsIdentity) {
  auto x = t::random_floats(3 * 64, 2);
  auto y = x;
  rope_half_split(y.data(), 3, 64, 0, 100000.0f);
  EXPECT_EQ(x, y);
  rope_half_split(y.data(), 3, 64, 1000, 100000.0f);
  double nx = 0, ny = 0;
  for (size_t i = 0; i < x.size(); ++i) nx += x[i] * x[i], ny += y[i] * y[i];
  EXPECT_NEAR(nx, ny, 1e-3);
}

// The two layouts are one rotation seen through a permutation of the head's dimensions:
// half-split pair (i, i+hd/2) is interleaved pair (2i, 2i+1). Converters to GGUF permute the
// rows of wq/wk this way, so q·k scores are identical either way.
TEST(Rope, LayoutsAreTheSameRotationUnderThePermutation) {
  const int hd = 64, heads = 3;
  for (int pos : {0, 1, 17, 511, 4000}) {
    const auto x =
        t::random_floats(static_cast<size_t>(hd * heads), static_cast<uint64_t>(pos) + 3);
    std::vector<float> perm(x.size());  // perm[2i] = x[i], perm[2i+1] = x[i + hd/2]
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        perm[static_cast<size_t>(h * hd + 2 * i)] = x[static_cast<size_t>(h * hd + i)];
        perm[static_cast<size_t>(h * hd + 2 * i + 1)] = x[static_cast<size_t>(h * hd + i + hd / 2)];
      }
    auto a = x;
    rope_half_split(a.data(), heads, hd, pos, 100000.0f);
    rope_interleaved(perm.data(), heads, hd, pos, 100000.0f);
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        ASSERT_EQ(a[static_cast<size_t>(h * hd + i)], perm[static_cast<size_t>(h * hd + 2 * i)]);
        ASSERT_EQ(a[static_cast<size_t>(h * hd + i + hd / 2)],
                  perm[static_cast<size_t>(h * hd + 2 * i + 1)]);
      }
  }
}
