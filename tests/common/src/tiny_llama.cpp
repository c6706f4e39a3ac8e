#include "llm/testing/tiny_llama.h"

#include <string>

#include "llm/testing/testing.h"

namespace llm::testing {

TensorMap random_llama_weights(const ModelConfig& c, uint64_t seed, WeightScales scales) {
  TensorMap t;
  auto add = [&](const std::string& name, Shape s, float scale) {
    t[name] =
        Tensor::from_f32(random_floats(static_cast<size_t>(s.numel()), seed++, -scale, scale), s);
  };
  const int64_t d = c.dim, h = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim();
  const float v = scales.vectors, m = scales.matrices;
  add("token_embd.weight", {c.vocab_size, d}, v);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {d}, v);
    add(p + "attn_q.weight", {q, d}, m);
    add(p + "attn_k.weight", {kv, d}, m);
    add(p + "attn_v.weight", {kv, d}, m);
    add(p + "attn_output.weight", {d, q}, m);
    add(p + "ffn_norm.weight", {d}, v);
    add(p + "ffn_gate.weight", {h, d}, m);
    add(p + "ffn_up.weight", {h, d}, m);
    add(p + "ffn_down.weight", {d, h}, m);
  }
  add("output_norm.weight", {d}, v);
  if (!c.tied_embeddings) add("output.weight", {c.vocab_size, d}, v);
  return t;
}

ModelConfig tiny_llama_config() {
  ModelConfig c;
  c.dim = 48;
  c.hidden_dim = 96;
  c.n_layers = 2;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 67;
  c.max_seq_len = 64;
  return c;
}

}  // namespace llm::testing
