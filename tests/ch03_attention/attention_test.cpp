#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "llm/attention/attention.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

// Straightforward attention in double precision: the yardstick for both variants.
std::vector<float> attention_double(const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v, int n_keys,
                                    const AttentionShape& s) {
  const int stride = s.n_kv_heads * s.head_dim, group = s.n_heads / s.n_kv_heads;
  std::vector<float> out(q.size());
  for (int h = 0; h < s.n_heads; ++h) {
    const int g = h / group;
    std::vector<double> sc(static_cast<size_t>(n_keys));
    double mx = -1e300;
    for (int t = 0; t < n_keys; ++t) {
      double d = 0;
      for (int i = 0; i < s.head_dim; ++i)
        d += static_cast<double>(q[static_cast<size_t>(h * s.head_dim + i)]) *
             k[static_cast<size_t>(t * stride + g * s.head_dim + i)];
      sc[static_cast<size_t>(t)] = d / std::sqrt(static_cast<double>(s.head_dim));
      mx = std::max(mx, sc[static_cast<size_t>(t)]);
    }
    double sum = 0;
    for (double& x : sc) sum += (x = std::exp(x - mx));
    for (int i = 0; i < s.head_dim; ++i) {
      double acc = 0;
      for (int t = 0; t < n_keys; ++t)
        acc += sc[static_cast<size_t>(t)] / sum *
               v[static_cast<size_t>(t * stride + g * s.head_dim + i)];
      out[static_cast<size_t>(h * s.head_dim + i)] = static_cast<float>(acc);
    }
  }
  return out;
}

// Splits [0, n) into random-sized blocks over the same buffers.
std::vector<KvBlock> random_blocks(const std::vector<float>& k, const std::vector<float>& v, int n,
                                   int stride, std::mt19937& rng) {
  std::vector<KvBlock> blocks;
  for (int at = 0; at < n;) {
    const int len = std::min(n - at, 1 + static_cast<int>(rng() % 40));
    blocks.push_back({k.data() + static_cast<size_t>(at) * stride,
                      v.data() + static_cast<size_t>(at) * stride, len, stride});
    at += len;
  }
  return blocks;
}

std::vector<KvBlock> random_blocks_f16(const std::vector<uint16_t>& k,
                                       const std::vector<uint16_t>& v, int n, int stride,
                                       std::mt19937& rng) {
  std::vector<KvBlock> blocks;
  for (int at = 0; at < n;) {
    const int len = std::min(n - at, 1 + static_cast<int>(rng() % 40));
    blocks.push_back({k.data() + static_cast<size_t>(at) * stride,
                      v.data() + static_cast<size_t>(at) * stride, len, stride, DType::F16});
    at += len;
  }
  return blocks;
}

}  // namespace

TEST(Attention, PlainAndTiledMatchDoubleReferenceOverShapesLengthsAndBlocks) {
  std::mt19937 rng(7);
  const AttentionShape shapes[] = {
      {8, 8, 16}, {8, 4, 8}, {9, 3, 64}, {4, 1, 32}};  // MHA, GQA, GQA, MQA
  for (const AttentionShape& s : shapes) {
    for (int n_keys : {1, 2, 63, 64, 65, 200, 513}) {
      const int stride = s.n_kv_heads * s.head_dim;
      const auto q = t::random_floats(static_cast<size_t>(s.n_heads * s.head_dim), rng(), -2, 2);
      const auto k = t::random_floats(static_cast<size_t>(n_keys * stride), rng(), -2, 2);
      const auto v = t::random_floats(k.size(), rng());
      const auto ref = attention_double(q, k, v, n_keys, s);
      std::vector<float> scratch(attention_scratch_floats(n_keys, s.head_dim));
      for (bool split : {false, true}) {
        std::vector<KvBlock> blocks =
            split ? random_blocks(k, v, n_keys, stride, rng)
                  : std::vector<KvBlock>{{k.data(), v.data(), n_keys, stride}};
        std::vector<float> plain(q.size()), tiled(q.size());
        attention_plain(q.data(), blocks, n_keys, s, plain.data(), scratch.data());
        attention_tiled(q.data(), blocks, n_keys, s, tiled.data(), scratch.data());
        EXPECT_LT(t::max_rel_diff(tiled, plain, 1e-2), 1e-5)
            << "heads " << s.n_heads << "/" << s.n_kv_heads << " keys " << n_keys;
        EXPECT_LT(t::max_abs_diff(plain, ref), 1e-5) << n_keys;
        EXPECT_LT(t::max_abs_diff(tiled, ref), 1e-5) << n_keys;
      }
    }
  }
}

// f16 storage: both variants equal the double reference computed on the f16-rounded query,
// keys and values, up to the rounding of the softmax weights to f16 that "plain" does (as
// llama.cpp's default attention does): at most 2^-11 relative per weight.
TEST(Attention, F16StorageMatchesReferenceOnRoundedInputs) {
  std::mt19937 rng(11);
  for (const AttentionShape& s : {AttentionShape{9, 3, 64}, AttentionShape{8, 4, 8}}) {
    for (int n_keys : {1, 5, 64, 130, 400}) {
      const int stride = s.n_kv_heads * s.head_dim;
      auto q = t::random_floats(static_cast<size_t>(s.n_heads * s.head_dim), rng(), -2, 2);
      auto k = t::random_floats(static_cast<size_t>(n_keys * stride), rng(), -2, 2);
      auto v = t::random_floats(k.size(), rng());
      std::vector<uint16_t> kh(k.size()), vh(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        kh[i] = f32_to_f16(k[i]);
        vh[i] = f32_to_f16(v[i]);
        k[i] = f16_to_f32(kh[i]);
        v[i] = f16_to_f32(vh[i]);
      }
      auto qr = q;
      for (float& x : qr) x = f16_to_f32(f32_to_f16(x));
      const auto ref = attention_double(qr, k, v, n_keys, s);
      std::vector<float> scratch(attention_scratch_floats(n_keys, s.head_dim)), out(q.size());
      const std::vector<KvBlock> blocks = random_blocks_f16(kh, vh, n_keys, stride, rng);
      attention_tiled(q.data(), blocks, n_keys, s, out.data(), scratch.data());
      EXPECT_LT(t::max_abs_diff(out, ref), 1e-5) << "tiled, keys " << n_keys;
      attention_plain(q.data(), blocks, n_keys, s, out.data(), scratch.data());
      EXPECT_LT(t::max_abs_diff(out, ref), 1e-3) << "plain, keys " << n_keys;
    }
  }
}

TEST(Attention, CausalPrefixOnlyReadsTheGivenKeys) {
  // Keys past n_keys hold NaN: a variant that reads beyond the causal prefix poisons the output.
  const AttentionShape s{4, 2, 8};
  const int stride = 16, n_keys = 70, cap = 100;
  auto k = t::random_floats(static_cast<size_t>(cap * stride), 1);
  auto v = t::random_floats(k.size(), 2);
  for (size_t i = static_cast<size_t>(n_keys * stride); i < k.size(); ++i) k[i] = v[i] = NAN;
  const auto q = t::random_floats(32, 3);
  std::vector<float> out(32), scratch(attention_scratch_floats(cap, 8));
  const KvBlock b{k.data(), v.data(), cap, stride};
  for (AttentionFn fn : {&attention_plain, &attention_tiled}) {
    fn(q.data(), {&b, 1}, n_keys, s, out.data(), scratch.data());
    for (float x : out) ASSERT_TRUE(std::isfinite(x));
  }
}

TEST(Attention, OneKeyReturnsItsValue) {
  const AttentionShape s{2, 1, 4};
  const std::vector<float> q{1, 2, 3, 4, -1, -2, -3, -4}, k{5, 6, 7, 8}, v{0.5f, -1, 2, 3};
  std::vector<float> out(8), scratch(attention_scratch_floats(1, 4));
  const KvBlock b{k.data(), v.data(), 1, 4};
  attention_tiled(q.data(), {&b, 1}, 1, s, out.data(), scratch.data());
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i)
      EXPECT_FLOAT_EQ(out[static_cast<size_t>(h * 4 + i)], v[static_cast<size_t>(i)]);
}

TEST(Attention, RegistryHoldsBothVariants) {
  Registry r;
  register_attention(r);
  ASSERT_EQ(r.variants("attention").size(), 2u);
  EXPECT_EQ(r.variants("attention")[0]->variant, "plain");
  EXPECT_EQ(r.best("attention")->variant, "plain");  // it rounds as llama.cpp does
  EXPECT_NE(r.find("rope/interleaved", "ref"), nullptr);
}
