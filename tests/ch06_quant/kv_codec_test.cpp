// The q8_0 KV cache: half of f16's memory, logits close to the f16 cache's, and clear errors
// where it cannot apply.
#include <gtest/gtest.h>

#include "llm/quant/kv_codec.h"
#include "llm/quant/quant.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"
#include "llm/transformer/transformer.h"

using namespace llm;
namespace t = llm::testing;

namespace {
Model model_with_head(int head_dim) {
  ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 128;
  c.n_layers = 2;
  c.n_heads = 64 / head_dim;
  c.n_kv_heads = c.n_heads / 2;
  c.head_dim = head_dim;
  c.vocab_size = 71;
  c.max_seq_len = 128;
  c.tied_embeddings = true;
  return Model::from_tensors(c, t::random_llama_weights(c, 3, {1.0f, 0.3f}), "tiny");
}

std::vector<float> run(const Model& m, const std::string& kv_type, int n) {
  PagedKvOptions o;
  o.n_blocks = 16;
  o.max_seqs = 1;
  set_kv_type(o, kv_type);
  PagedKvCache cache(m.config, o);
  Registry r;
  register_quant(r);
  Transformer tr(m, Kernels::reference(r), cache);
  Batch b;
  for (int p = 0; p < n; ++p) b.add((p * 13 + 5) % 71, p, 0, true);
  const auto logits = tr.forward(b);
  return {logits.begin(), logits.end()};
}
}  // namespace

TEST(KvQ8_0, HalfTheMemoryOfF16AndLogitsClose) {
  const Model m = model_with_head(32);
  EXPECT_EQ(PagedKvCache::bytes_per_token(m.config, DType::Q8_0),
            2u * 2 * (32 / 32) * 34);  // K and V, 2 layers, kv_dim 32 = one block of 34 bytes
  EXPECT_EQ(PagedKvCache::bytes_per_token(m.config, DType::F16), 2u * 2 * 32 * 2);
  const auto f16 = run(m, "f16", 40), q8 = run(m, "q8_0", 40), f32 = run(m, "f32", 40);
  ASSERT_EQ(f16.size(), q8.size());
  // q8_0 keeps 8 bits per value plus a scale per 32 (steps of 0.8% of a block's largest value),
  // f16 11 bits: q8_0 moves the logits more than f16 does, but little.
  const double e8 = t::nmse(q8, f32), e16 = t::nmse(f16, f32);
  std::printf("NMSE vs the f32 cache: f16 %.3g, q8_0 %.3g; max |diff| f16 %.3g, q8_0 %.3g\n", e16,
              e8, t::max_abs_diff(f16, f32), t::max_abs_diff(q8, f32));
  EXPECT_GT(e8, 0.0) << "the q8_0 path did not run";
  EXPECT_LT(e8, 1e-4);
  EXPECT_LT(t::max_abs_diff(q8, f32), 0.2);
}

TEST(KvQ8_0, ClearErrors) {
  const Model small_heads = model_with_head(8);
  PagedKvOptions o;
  o.n_blocks = 4;
  set_kv_type(o, "q8_0");
  try {
    PagedKvCache cache(small_heads.config, o);
    FAIL() << "a head size of 8 cannot hold q8_0 blocks of 32";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(set_kv_type(o, "q4_0"), Error);
  EXPECT_THROW(set_kv_type(o, "F16 "), Error);
}
