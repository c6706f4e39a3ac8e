// The Llama forward pass over a ragged batch. Read it next to llama2.c's forward(): the same
// steps, with every loop replaced by a call through the kernel table and every token of the
// batch processed together, so each weight matrix is streamed once per batch, not per token.
#include "llm/transformer/transformer.h"

#include <algorithm>
#include <string>

#include "llm/config/error.h"

namespace llm {
namespace {
size_t sz(int64_t a, int64_t b) {
  return static_cast<size_t>(a) * static_cast<size_t>(b);
}
}  // namespace

Transformer::Transformer(const Model& model, Kernels kernels, KvCache& cache, int max_batch)
    : Transformer(model, std::move(kernels), cache, single_rank_, max_batch) {}

Transformer::Transformer(const Model& model, Kernels kernels, KvCache& cache, Communicator& comm,
                         int max_batch)
    : model_(model),
      kernels_(std::move(kernels)),
      cache_(cache),
      comm_(comm),
      max_batch_(max_batch) {
  const ModelConfig& c = model.config;
  if (max_batch <= 0) throw Error("max_batch must be positive");
  // Fail now, not mid-generation, if a weight's dtype has no kernel.
  for (const LayerWeights& w : model.layers)
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      kernels_.matmul_for(t->dtype());
  mm_output_ = kernels_.matmul_for(model.output.dtype());
  kernels_.to_f32_for(model.token_embd.dtype());
  x_.resize(sz(max_batch, c.dim));
  xb_.resize(sz(max_batch, c.dim));
  q_.resize(sz(max_batch, c.q_dim()));
  k_.resize(sz(max_batch, c.kv_dim()));
  v_.resize(sz(max_batch, c.kv_dim()));
  att_.resize(sz(max_batch, c.q_dim()));
  proj_.resize(sz(max_batch, c.dim));
  gate_.resize(sz(max_batch, c.hidden_dim));
  up_.resize(sz(max_batch, c.hidden_dim));
  scratch_.resize(attention_scratch_floats(cache.max_tokens(), c.head_dim));
}

void Transformer::observe(std::string_view name, int i, const float* v, int n) const {
  if (observer_) observer_(name, i, {v, static_cast<size_t>(n)});
}

void Transformer::observe_layer(int layer, std::string_view what, const std::vector<float>& buf,
                                int n, int width) const {
  if (!observer_) return;
  const std::string name = "layer" + std::to_string(layer) + "." + std::string(what);
  for (int i = 0; i < n; ++i) observe(name, i, buf.data() + sz(i, width), width);
}

std::span<const float> Transformer::forward(const Batch& batch) {
  const ModelConfig& c = model_.config;
  const int n = batch.size();
  if (n == 0) return {};
  if (n > max_batch_)
    throw Error("batch of " + std::to_string(n) + " tokens exceeds max_batch " +
                std::to_string(max_batch_));
  for (int i = 0; i < n; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= c.vocab_size)
      throw Error("token id " + std::to_string(batch.tokens[i]) +
                  " is outside the vocabulary (0.." + std::to_string(c.vocab_size - 1) + ")");
    if (batch.positions[i] < 0 || batch.positions[i] >= cache_.max_tokens())
      throw Error("position " + std::to_string(batch.positions[i]) + " is beyond the context of " +
                  std::to_string(cache_.max_tokens()) + " tokens");
  }

  // x = token_embd[token]: one row decoded per token (the table may be quantized).
  const ToF32Fn embed = kernels_.to_f32_for(model_.token_embd.dtype());
  for (int i = 0; i < n; ++i)
    embed(model_.token_embd.row(batch.tokens[i]), &x_[sz(i, c.dim)], c.dim);
  observe_layer(-1, "embd", x_, n, c.dim);

  for (int l = 0; l < c.n_layers; ++l) {
    attention_layer(l, batch);
    ffn_layer(l, n);
  }

  // Final norm, then the classifier for the entries that asked for logits.
  logit_rows_.clear();
  for (int i = 0; i < n; ++i)
    if (batch.logits[i]) logit_rows_.push_back(i);
  const int m = static_cast<int>(logit_rows_.size());
  for (int j = 0; j < m; ++j) {
    const int i = logit_rows_[static_cast<size_t>(j)];
    kernels_.rmsnorm(&xb_[sz(j, c.dim)], &x_[sz(i, c.dim)], model_.output_norm.as<float>(), c.dim,
                     c.norm_eps);
  }
  observe_layer(c.n_layers, "final_norm", xb_, m, c.dim);
  // Grows only when a batch asks for more logit rows than any before (usually 1 row).
  if (logits_.size() < sz(m, c.vocab_size)) logits_.resize(sz(m, c.vocab_size));
  mm_output_(model_.output, xb_.data(), m, logits_.data());
  for (int j = 0; j < m; ++j) observe("logits", j, &logits_[sz(j, c.vocab_size)], c.vocab_size);
  return {logits_.data(), sz(m, c.vocab_size)};
}

void Transformer::attention_layer(int l, const Batch& batch) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[static_cast<size_t>(l)];
  const int n = batch.size();
  const int qd = c.q_dim(), kvd = c.kv_dim();

  // xb = rmsnorm(x) · attn_norm, then the three projections for the whole batch.
  for (int i = 0; i < n; ++i)
    kernels_.rmsnorm(&xb_[sz(i, c.dim)], &x_[sz(i, c.dim)], w.attn_norm.as<float>(), c.dim,
                     c.norm_eps);
  kernels_.matmul_for(w.wq.dtype())(w.wq, xb_.data(), n, q_.data());
  kernels_.matmul_for(w.wk.dtype())(w.wk, xb_.data(), n, k_.data());
  kernels_.matmul_for(w.wv.dtype())(w.wv, xb_.data(), n, v_.data());

  // RoPE on queries and keys, then store this batch's keys and values in the cache. All tokens
  // are stored before any attends, so a prompt's tokens see each other within one batch.
  const RopeFn rope = kernels_.rope_for(c.rope_layout);
  for (int i = 0; i < n; ++i) {
    rope(&q_[sz(i, qd)], c.n_heads, c.head_dim, batch.positions[i], c.rope_theta);
    rope(&k_[sz(i, kvd)], c.n_kv_heads, c.head_dim, batch.positions[i], c.rope_theta);
    cache_.store(l, batch.seq_ids[i], batch.positions[i], &k_[sz(i, kvd)], &v_[sz(i, kvd)]);
  }
  observe_layer(l, "q", q_, n, qd);
  observe_layer(l, "k", k_, n, kvd);

  // Each token attends to its own sequence's positions 0..pos (causal).
  const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, n};
  for (int i = 0; i < n; ++i) {
    const int n_keys = batch.positions[i] + 1;
    const auto blocks = cache_.blocks(l, batch.seq_ids[i], n_keys);
    kernels_.attention(&q_[sz(i, qd)], blocks, n_keys, shape, &att_[sz(i, qd)], scratch_.data());
  }
  observe_layer(l, "attn", att_, n, qd);

  // x += wo · att (summed across ranks when the heads are sharded).
  kernels_.matmul_for(w.wo.dtype())(w.wo, att_.data(), n, proj_.data());
  comm_.all_reduce_sum(proj_.data(), sz(n, c.dim));
  for (int i = 0; i < n; ++i) kernels_.add(&x_[sz(i, c.dim)], &proj_[sz(i, c.dim)], c.dim);
  observe_layer(l, "attn_out", x_, n, c.dim);
}

void Transformer::ffn_layer(int l, int n) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[static_cast<size_t>(l)];
  // x += w_down · (silu(w_gate · xb) ⊙ (w_up · xb)),  xb = rmsnorm(x) · ffn_norm
  for (int i = 0; i < n; ++i)
    kernels_.rmsnorm(&xb_[sz(i, c.dim)], &x_[sz(i, c.dim)], w.ffn_norm.as<float>(), c.dim,
                     c.norm_eps);
  kernels_.matmul_for(w.w_gate.dtype())(w.w_gate, xb_.data(), n, gate_.data());
  kernels_.matmul_for(w.w_up.dtype())(w.w_up, xb_.data(), n, up_.data());
  for (int i = 0; i < n; ++i)
    kernels_.silu_mul(&gate_[sz(i, c.hidden_dim)], &up_[sz(i, c.hidden_dim)], c.hidden_dim);
  kernels_.matmul_for(w.w_down.dtype())(w.w_down, gate_.data(), n, proj_.data());
  comm_.all_reduce_sum(proj_.data(), sz(n, c.dim));
  for (int i = 0; i < n; ++i) kernels_.add(&x_[sz(i, c.dim)], &proj_[sz(i, c.dim)], c.dim);
  observe_layer(l, "ffn_out", x_, n, c.dim);
}

}  // namespace llm
