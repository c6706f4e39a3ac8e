// The Llama forward pass over a ragged batch. Read it next to llama2.c's forward(): the same
// steps, with every loop replaced by one call to the backend for the whole batch, so each
// weight matrix is streamed once per batch, not per token, and a GPU pays one launch per op.
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
    : own_backend_(std::make_unique<CpuBackend>(std::move(kernels))),
      model_(model),
      backend_(*own_backend_),
      cache_(cache),
      comm_(single_rank_),
      max_batch_(max_batch) {
  init();
}

Transformer::Transformer(const Model& model, Backend& backend, KvCache& cache, int max_batch)
    : model_(model), backend_(backend), cache_(cache), comm_(single_rank_), max_batch_(max_batch) {
  init();
}

Transformer::Transformer(const Model& model, Backend& backend, KvCache& cache, Communicator& comm,
                         int max_batch)
    : model_(model), backend_(backend), cache_(cache), comm_(comm), max_batch_(max_batch) {
  init();
}

void Transformer::init() {
  const Model& model = model_;
  Backend& backend = backend_;
  KvCache& cache = cache_;
  const int max_batch = max_batch_;
  const ModelConfig& c = model.config;
  if (max_batch <= 0) throw Error("max_batch must be positive");
  // Prepare every weight once (and fail now, not mid-generation, if a dtype has no kernel).
  for (const LayerWeights& w : model.layers)
    layers_.push_back({backend.prepare(w.wq), backend.prepare(w.wk), backend.prepare(w.wv),
                       backend.prepare(w.wo), backend.prepare(w.w_gate), backend.prepare(w.w_up),
                       backend.prepare(w.w_down)});
  output_ = backend.prepare(model.output);
  backend.reserve(max_batch, std::max({c.dim, c.q_dim(), c.hidden_dim}), cache.max_tokens(),
                  c.head_dim);
  x_ = backend.alloc(sz(max_batch, c.dim));
  xb_ = backend.alloc(sz(max_batch, c.dim));
  q_ = backend.alloc(sz(max_batch, c.q_dim()));
  k_ = backend.alloc(sz(max_batch, c.kv_dim()));
  v_ = backend.alloc(sz(max_batch, c.kv_dim()));
  att_ = backend.alloc(sz(max_batch, c.q_dim()));
  proj_ = backend.alloc(sz(max_batch, c.dim));
  gate_ = backend.alloc(sz(max_batch, c.hidden_dim));
  up_ = backend.alloc(sz(max_batch, c.hidden_dim));
  if (comm_.size() > 1) {
    // Every rank learns how many classifier rows (vocabulary entries) each rank holds.
    const int ranks = comm_.size();
    const float mine = static_cast<float>(model.output.rows());
    std::vector<float> all(static_cast<size_t>(ranks));
    const std::vector<size_t> one_each(static_cast<size_t>(ranks), 1);
    comm_.all_gather(&mine, one_each, all.data());
    size_t total = 0;
    for (const float rows : all) {
      vocab_rows_.push_back(static_cast<size_t>(rows));
      total += vocab_rows_.back();
    }
    if (total != static_cast<size_t>(c.vocab_size))
      throw Error("tensor parallelism: the ranks' classifier shards hold " + std::to_string(total) +
                  " rows, the vocabulary has " + std::to_string(c.vocab_size));
    if (comm_.rank() == 0) cache.set_journal(&journal_);
  }
}

Transformer::~Transformer() {
  if (comm_.size() > 1 && comm_.rank() == 0) cache_.set_journal(nullptr);
}

void Transformer::observe_layer(int layer, std::string_view what, const float* buf, int n,
                                int width) {
  if (observer_) observe("layer" + std::to_string(layer) + "." + std::string(what), buf, n, width);
}

void Transformer::observe(const std::string& name, const float* buf, int n, int width) {
  if (!observer_) return;
  const float* host = backend_.host_view(buf, sz(n, width));
  for (int i = 0; i < n; ++i) observer_(name, i, {host + sz(i, width), static_cast<size_t>(width)});
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

  cache_.begin_batch(batch);  // room for every position, or an error before anything changed
  if (comm_.size() > 1) send_batch(batch);
  return run(batch);
}

// The leader's message: a header {journal entries, batch size}, then one buffer with the
// journal and the batch's four columns. A header with a negative size releases the followers.
void Transformer::send_batch(const Batch& batch) {
  const int n = batch.size();
  int32_t header[2] = {static_cast<int32_t>(journal_.size()), n};
  comm_.broadcast(header, 2, 0);
  message_.assign(journal_.begin(), journal_.end());
  journal_.clear();
  message_.insert(message_.end(), batch.tokens.begin(), batch.tokens.end());
  message_.insert(message_.end(), batch.positions.begin(), batch.positions.end());
  message_.insert(message_.end(), batch.seq_ids.begin(), batch.seq_ids.end());
  message_.insert(message_.end(), batch.logits.begin(), batch.logits.end());
  comm_.broadcast(message_.data(), message_.size(), 0);
}

void Transformer::release_followers() {
  if (comm_.size() <= 1 || comm_.rank() != 0 || released_) return;
  released_ = true;
  int32_t header[2] = {0, -1};
  comm_.broadcast(header, 2, 0);
}

void Transformer::follow() {
  if (comm_.rank() == 0) throw Error("follow() runs on the follower ranks, not on rank 0");
  Batch batch;
  for (;;) {
    int32_t header[2];
    comm_.broadcast(header, 2, 0);
    if (header[1] < 0) return;
    const auto j = static_cast<size_t>(header[0]), n = static_cast<size_t>(header[1]);
    message_.resize(j + 4 * n);
    comm_.broadcast(message_.data(), message_.size(), 0);
    cache_.replay({message_.data(), j});
    const int32_t* m = message_.data() + j;
    batch.tokens.assign(m, m + n);
    batch.positions.assign(m + n, m + 2 * n);
    batch.seq_ids.assign(m + 2 * n, m + 3 * n);
    batch.logits.assign(m + 3 * n, m + 4 * n);
    cache_.begin_batch(
        batch);  // the same tables as the leader's: this cannot fail where it did not
    run(batch);
  }
}

std::span<const float> Transformer::run(const Batch& batch) {
  const ModelConfig& c = model_.config;
  const int n = batch.size();
  // x = token_embd[token]: one row decoded per token (the table may be quantized).
  backend_.embed(model_.token_embd, batch.tokens.data(), n, c.dim, x_);
  observe_layer(-1, "embd", x_, n, c.dim);

  for (int l = 0; l < c.n_layers; ++l) {
    attention_layer(l, batch);
    ffn_layer(l, n);
  }
  cache_.end_batch(batch);

  // Final norm, then the classifier, for the entries that asked for logits only.
  logit_rows_.clear();
  for (int i = 0; i < n; ++i)
    if (batch.logits[i]) logit_rows_.push_back(i);
  const int m = static_cast<int>(logit_rows_.size());
  if (m == 0) return {};
  backend_.gather_rows(x_, logit_rows_.data(), m, c.dim, proj_);
  backend_.rmsnorm(proj_, model_.output_norm.as<float>(), m, c.dim, c.norm_eps, xb_);
  observe_layer(c.n_layers, "final_norm", xb_, m, c.dim);
  // Grows only when a batch asks for more logit rows than any before (usually 1 row).
  const int64_t rows = model_.output.rows();  // the vocabulary, or this rank's share of it
  if (m > logit_capacity_) {
    logits_ = backend_.alloc(sz(m, rows));
    logit_capacity_ = m;
  }
  const MatmulJob out{output_, logits_};
  backend_.matmul({&out, 1}, xb_, m);
  if (comm_.size() > 1) return gather_logits(m);
  observe("logits", logits_, m, c.vocab_size);
  return {backend_.host_view(logits_, sz(m, c.vocab_size)), sz(m, c.vocab_size)};
}

// Each rank computed logits for its rows of the vocabulary: gather them all ([rank][m][rows])
// and interleave them into [m][vocab], on every rank.
std::span<const float> Transformer::gather_logits(int m) {
  const ModelConfig& c = model_.config;
  std::vector<size_t> counts;
  for (const size_t rows : vocab_rows_) counts.push_back(static_cast<size_t>(m) * rows);
  gathered_.resize(sz(m, c.vocab_size));
  full_logits_.resize(sz(m, c.vocab_size));
  const float* local = backend_.host_view(logits_, counts[static_cast<size_t>(comm_.rank())]);
  comm_.all_gather(local, counts, gathered_.data());
  const float* from = gathered_.data();
  size_t col = 0;
  for (const size_t rows : vocab_rows_) {
    for (int i = 0; i < m; ++i, from += rows)
      std::copy(from, from + rows, full_logits_.data() + sz(i, c.vocab_size) + col);
    col += rows;
  }
  observe("logits", full_logits_.data(), m, c.vocab_size);
  return full_logits_;
}

void Transformer::attention_layer(int l, const Batch& batch) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[static_cast<size_t>(l)];
  const PreparedLayer& p = layers_[static_cast<size_t>(l)];
  const int n = batch.size();

  // xb = rmsnorm(x) · attn_norm, then the three projections, sharing one (quantized) input.
  backend_.rmsnorm(x_, w.attn_norm.as<float>(), n, c.dim, c.norm_eps, xb_);
  const MatmulJob qkv[] = {{p.wq, q_}, {p.wk, k_}, {p.wv, v_}};
  backend_.matmul(qkv, xb_, n);

  // RoPE on queries and keys, then store this batch's keys and values in the cache. All tokens
  // are stored before any attends, so a prompt's tokens see each other within one batch.
  backend_.rope(q_, c.q_dim(), batch.positions.data(), n, c.n_heads, c.head_dim, c.rope_theta,
                c.rope_layout);
  backend_.rope(k_, c.kv_dim(), batch.positions.data(), n, c.n_kv_heads, c.head_dim, c.rope_theta,
                c.rope_layout);
  backend_.store_kv(cache_, l, batch, k_, v_);
  observe_layer(l, "q", q_, n, c.q_dim());
  observe_layer(l, "k", k_, n, c.kv_dim());

  // Each token attends to its own sequence's positions 0..pos (causal).
  const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, n};
  backend_.attention(cache_, l, batch, q_, shape, att_);
  observe_layer(l, "attn", att_, n, c.q_dim());

  // x += wo · att (summed across ranks when the heads are sharded).
  const MatmulJob o{p.wo, proj_};
  backend_.matmul({&o, 1}, att_, n);
  comm_.all_reduce_sum(proj_, sz(n, c.dim));
  backend_.add(x_, proj_, n, c.dim);
  observe_layer(l, "attn_out", x_, n, c.dim);
}

void Transformer::ffn_layer(int l, int n) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[static_cast<size_t>(l)];
  const PreparedLayer& p = layers_[static_cast<size_t>(l)];
  // x += w_down · (silu(w_gate · xb) ⊙ (w_up · xb)),  xb = rmsnorm(x) · ffn_norm
  backend_.rmsnorm(x_, w.ffn_norm.as<float>(), n, c.dim, c.norm_eps, xb_);
  const MatmulJob gate_up[] = {{p.w_gate, gate_}, {p.w_up, up_}};
  backend_.matmul(gate_up, xb_, n);
  backend_.silu_mul(gate_, up_, n, c.hidden_dim);
  const MatmulJob down{p.w_down, proj_};
  backend_.matmul({&down, 1}, gate_, n);
  comm_.all_reduce_sum(proj_, sz(n, c.dim));
  backend_.add(x_, proj_, n, c.dim);
  observe_layer(l, "ffn_out", x_, n, c.dim);
}

}  // namespace llm
