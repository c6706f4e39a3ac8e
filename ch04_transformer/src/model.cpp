#include "llm/transformer/model.h"

#include <vector>

#include "llm/config/error.h"

namespace llm {
namespace {

// Looks up `name`, checks its shape, and returns it.
Tensor take(const TensorMap& tensors, const std::string& name, Shape expected,
            const std::string& source) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(source + ": tensor '" + name + "' is missing");
  const Tensor& t = it->second;
  // A 1-D [n] tensor may arrive as [1, n] and a matrix is always [rows, cols].
  if (!(t.shape() == expected) && !(expected.ndim == 1 && t.numel() == expected[0]))
    throw Error(source + ": tensor '" + name + "' has shape " + t.shape().str() + ", expected " +
                expected.str());
  return t;
}

// Norm weights are read element by element on every token: keep them as f32.
Tensor norm(const TensorMap& tensors, const std::string& name, int dim, const std::string& source) {
  Tensor t = take(tensors, name, {dim}, source);
  if (t.dtype() == DType::F32) return t.reshaped({dim});
  if (t.dtype() != DType::F16 && t.dtype() != DType::BF16)
    throw Error(source + ": norm '" + name + "' is " + std::string(dtype_name(t.dtype())) +
                ", expected f32, f16 or bf16");
  const std::vector<float> v = t.to_f32();
  return Tensor::from_f32(v, {dim});
}

}  // namespace

Model Model::from_tensors(ModelConfig c, const TensorMap& tensors, const std::string& source) {
  c.validate(source);
  Model m;
  const int64_t dim = c.dim, hidden = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim();
  m.token_embd = take(tensors, "token_embd.weight", {c.vocab_size, dim}, source);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights w;
    w.attn_norm = norm(tensors, p + "attn_norm.weight", c.dim, source);
    w.wq = take(tensors, p + "attn_q.weight", {q, dim}, source);
    w.wk = take(tensors, p + "attn_k.weight", {kv, dim}, source);
    w.wv = take(tensors, p + "attn_v.weight", {kv, dim}, source);
    w.wo = take(tensors, p + "attn_output.weight", {dim, q}, source);
    w.ffn_norm = norm(tensors, p + "ffn_norm.weight", c.dim, source);
    w.w_gate = take(tensors, p + "ffn_gate.weight", {hidden, dim}, source);
    w.w_up = take(tensors, p + "ffn_up.weight", {hidden, dim}, source);
    w.w_down = take(tensors, p + "ffn_down.weight", {dim, hidden}, source);
    m.layers.push_back(std::move(w));
  }
  m.output_norm = norm(tensors, "output_norm.weight", c.dim, source);
  if (tensors.count("output.weight")) {
    m.output = take(tensors, "output.weight", {c.vocab_size, dim}, source);
    c.tied_embeddings = false;
  } else {
    m.output = m.token_embd;
    c.tied_embeddings = true;
  }
  m.config = c;
  return m;
}

size_t Model::weight_bytes() const {
  size_t n = output.nbytes() + output_norm.nbytes();
  for (const LayerWeights& w : layers)
    for (const Tensor* t :
         {&w.attn_norm, &w.wq, &w.wk, &w.wv, &w.wo, &w.ffn_norm, &w.w_gate, &w.w_up, &w.w_down})
      n += t->nbytes();
  return n;  // the embedding is one row per token; the classifier is read whole
}

}  // namespace llm
