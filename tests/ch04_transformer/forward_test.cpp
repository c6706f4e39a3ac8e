// The forward pass on a small synthetic model: batching must not change the numbers.
#include <gtest/gtest.h>

#include <map>

#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"
#include "llm/transformer/transformer.h"

using namespace llm;
namespace t = llm::testing;

namespace {

Model tiny_model(uint64_t seed, RopeLayout layout = RopeLayout::Interleaved) {
  ModelConfig c = t::tiny_llama_config();
  c.rope_layout = layout;
  ModelConfig without_output = c;  // no output.weight: from_tensors must infer tied embeddings
  without_output.tied_embeddings = true;
  return Model::from_tensors(c, t::random_llama_weights(without_output, seed, {1.0f, 0.3f}),
                             "tiny");
}

Kernels kernels(const std::map<std::string, std::string>& overrides = {}) {
  Registry r;
  register_transformer(r);
  return Kernels::select(r, overrides);
}

}  // namespace

// With an f32 cache a prompt in one batch and token by token are the same arithmetic, bit for
// bit. With f16 storage the attention sums follow llama.cpp, which adds a prompt's f16
// products in another order (a matrix product) than a decoded token's (a dot product per key),
// and a last-bit difference can move a softmax weight by one f16 step (2^-11).
TEST(Forward, PrefillInOneBatchEqualsTokenByToken) {
  const Model m = tiny_model(1);
  EXPECT_TRUE(m.config.tied_embeddings);
  const std::vector<int32_t> toks{3, 14, 15, 9, 26, 5, 35, 8, 9, 7};
  for (const DType kv : {DType::F32, DType::F16}) {
    ScratchKvCache c1(m.config, 1, 64, kv), c2(m.config, 1, 64, kv);
    Transformer a(m, kernels(), c1), b(m, kernels(), c2);
    Batch all;
    for (int i = 0; i < 10; ++i) all.add(toks[static_cast<size_t>(i)], i, 0, true);
    const auto la = a.forward(all);
    const std::vector<float> batched(la.begin(), la.end());
    for (int i = 0; i < 10; ++i) {
      Batch one;
      one.add(toks[static_cast<size_t>(i)], i, 0, true);
      const auto lb = b.forward(one);
      const std::span<const float> row(batched.data() + i * 67, 67);
      if (kv == DType::F32)
        EXPECT_EQ(t::max_abs_diff(lb, row), 0.0) << "token " << i;
      else
        EXPECT_LT(t::max_rel_diff(lb, row, 1.0), 1e-3) << "token " << i;  // ~2 f16 ulps
    }
  }
}

TEST(Forward, SequencesInOneBatchDoNotSeeEachOther) {
  const Model m = tiny_model(2);
  ScratchKvCache c1(m.config, 2, 64), c2(m.config, 2, 64);
  Transformer mixed(m, kernels(), c1), alone(m, kernels(), c2);
  // Two sequences of different lengths, interleaved in one ragged batch.
  Batch b;
  b.add(5, 0, 0, false);
  b.add(6, 0, 1, false);
  b.add(7, 1, 0, true);
  b.add(8, 1, 1, false);
  b.add(9, 2, 1, true);
  const auto l = mixed.forward(b);
  ASSERT_EQ(l.size(), 2u * 67);
  const std::vector<float> got(l.begin(), l.end());
  Batch s0, s1;
  s0.add(5, 0, 0, false);
  s0.add(7, 1, 0, true);
  const std::vector<float> r0 = [&] {
    auto x = alone.forward(s0);
    return std::vector<float>(x.begin(), x.end());
  }();
  s1.add(6, 0, 1, false);
  s1.add(8, 1, 1, false);
  s1.add(9, 2, 1, true);
  const auto r1 = alone.forward(s1);
  EXPECT_LT(t::max_abs_diff(std::span(got).first(67), r0), 1e-5);
  EXPECT_LT(t::max_abs_diff(std::span(got).subspan(67), r1), 1e-5);
}

TEST(Forward, PlainAndTiledAttentionGiveTheSameLogits) {
  const Model m = tiny_model(3, RopeLayout::HalfSplit);
  // f32 storage: the two variants differ only in summation order. (With f16 storage "plain"
  // also rounds the softmax weights, as llama.cpp does; chapter 3's tests bound that.)
  ScratchKvCache c1(m.config, 1, 64, DType::F32), c2(m.config, 1, 64, DType::F32);
  Transformer a(m, kernels({{"attention", "plain"}}), c1),
      b(m, kernels({{"attention", "tiled"}}), c2);
  Batch batch;
  for (int i = 0; i < 40; ++i) batch.add((i * 7) % 67, i, 0, i == 39);
  const auto la = a.forward(batch);
  const std::vector<float> x(la.begin(), la.end());
  EXPECT_LT(t::max_rel_diff(b.forward(batch), x, 1e-3), 1e-4);
}

TEST(Forward, ObserverSeesNamedActivations) {
  const Model m = tiny_model(4);
  ScratchKvCache c(m.config, 1, 8);
  Transformer tr(m, kernels(), c);
  std::map<std::string, size_t> seen;
  tr.set_observer([&](std::string_view name, int, std::span<const float> v) {
    seen[std::string(name)] = v.size();
  });
  Batch b;
  b.add(1, 0, 0, true);
  tr.forward(b);
  EXPECT_EQ(seen.at("layer1.attn_out"), 48u);
  EXPECT_EQ(seen.at("layer0.ffn_out"), 48u);
  EXPECT_EQ(seen.at("logits"), 67u);
}

TEST(Forward, BadBatchesAndShapesAreErrors) {
  const Model m = tiny_model(5);
  ScratchKvCache c(m.config, 1, 8);
  Transformer tr(m, kernels(), c, 4);
  Batch b;
  for (int i = 0; i < 5; ++i) b.add(1, i, 0, false);
  EXPECT_THROW(tr.forward(b), Error);  // more than max_batch
  b.clear();
  b.add(1, 8, 0, true);
  EXPECT_THROW(tr.forward(b), Error);  // past the cache
  b.clear();
  b.add(1, 0, 1, true);
  EXPECT_THROW(tr.forward(b), Error);  // no such sequence
  TensorMap broken;
  broken["token_embd.weight"] = Tensor::zeros(DType::F32, {67, 47});
  try {
    Model::from_tensors(m.config, broken, "broken");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos);
  }
}
