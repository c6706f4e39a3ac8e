#include "llm/parallel/shard.h"

#include <cstring>
#include <string>

#include "llm/config/error.h"

namespace llm::parallel {
namespace {

int64_t split_begin(int64_t n, int rank, int world) {
  return n * rank / world;
}

// Rows [r0, r1) of a matrix: contiguous in memory, so a view.
Tensor rows(const Tensor& t, int64_t r0, int64_t r1) {
  return Tensor::borrow(t.row(r0), t.dtype(), Shape{r1 - r0, t.cols()});
}

// Columns [c0, c1) of every row: a copy (row_bytes checks that the cut falls between blocks).
Tensor cols(const Tensor& t, int64_t c0, int64_t c1) {
  Tensor out = Tensor::zeros(t.dtype(), Shape{t.rows(), c1 - c0});
  const size_t skip = row_bytes(t.dtype(), c0), take = row_bytes(t.dtype(), c1 - c0);
  auto* dst = static_cast<std::byte*>(out.mutable_data());
  for (int64_t r = 0; r < t.rows(); ++r)
    std::memcpy(dst + static_cast<size_t>(r) * out.row_stride(), t.row(r) + skip, take);
  return out;
}

// The rank counts that divide the KV heads (every such count divides the query heads too).
std::string workable(int kv_heads) {
  std::string s;
  for (int w = 1; w <= kv_heads; ++w)
    if (kv_heads % w == 0) s += (s.empty() ? "" : ", ") + std::to_string(w);
  return s;
}

void check_cut(const Tensor& t, int64_t at, const char* what, int world) {
  const int64_t block = dtype_layout(t.dtype()).block_size;
  if (at % block != 0)
    throw Error("tensor parallelism over " + std::to_string(world) + " ranks would cut " + what +
                " (" + std::string(dtype_name(t.dtype())) + ", blocks of " + std::to_string(block) +
                " values) at column " + std::to_string(at) + ", inside a block");
}

}  // namespace

ShardPlan plan_shard(const Model& full, int rank, int world) {
  const ModelConfig& c = full.config;
  if (world < 1) throw Error("tensor parallelism needs at least one rank");
  if (rank < 0 || rank >= world) throw Error("rank outside the tensor-parallel group");
  if (c.n_kv_heads % world != 0 || c.n_heads % world != 0)
    throw Error("tensor parallelism over " + std::to_string(world) + " ranks needs the heads to " +
                "divide by " + std::to_string(world) + ", and this model has " +
                std::to_string(c.n_heads) + " query heads and " + std::to_string(c.n_kv_heads) +
                " KV heads: use " + workable(c.n_kv_heads) + " ranks");
  if (c.hidden_dim < world || c.vocab_size < world)
    throw Error("tensor parallelism over " + std::to_string(world) +
                " ranks: the model is too small");
  ShardPlan p;
  p.rank = rank;
  p.world = world;
  p.n_heads = c.n_heads / world;
  p.heads_begin = rank * p.n_heads;
  p.n_kv_heads = c.n_kv_heads / world;
  p.kv_heads_begin = rank * p.n_kv_heads;
  p.hidden_begin = split_begin(c.hidden_dim, rank, world);
  p.hidden = split_begin(c.hidden_dim, rank + 1, world) - p.hidden_begin;
  p.vocab_begin = split_begin(c.vocab_size, rank, world);
  p.vocab = split_begin(c.vocab_size, rank + 1, world) - p.vocab_begin;
  // The row-parallel matrices are cut between columns: between quantization blocks only.
  for (int r = 0; r <= world; ++r)
    for (const LayerWeights& w : full.layers) {
      check_cut(w.wo, static_cast<int64_t>(r) * (c.n_heads / world) * c.head_dim,
                "the attention output projection", world);
      check_cut(w.w_down, split_begin(c.hidden_dim, r, world), "the FFN down projection", world);
    }
  return p;
}

Model shard_model(const Model& full, const ShardPlan& p) {
  const ModelConfig& c = full.config;
  Model m;
  m.config = c;
  m.config.n_heads = p.n_heads;
  m.config.n_kv_heads = p.n_kv_heads;
  m.config.hidden_dim = static_cast<int>(p.hidden);
  m.token_embd = full.token_embd;  // replicated (one row per token is read)
  m.output_norm = full.output_norm;
  m.output = rows(full.output, p.vocab_begin, p.vocab_begin + p.vocab);
  const int64_t hd = c.head_dim;
  const int64_t q0 = p.heads_begin * hd, q1 = q0 + p.n_heads * hd;
  const int64_t kv0 = p.kv_heads_begin * hd, kv1 = kv0 + p.n_kv_heads * hd;
  const int64_t h0 = p.hidden_begin, h1 = h0 + p.hidden;
  for (const LayerWeights& w : full.layers) {
    LayerWeights s;
    s.attn_norm = w.attn_norm;
    s.ffn_norm = w.ffn_norm;
    s.wq = rows(w.wq, q0, q1);
    s.wk = rows(w.wk, kv0, kv1);
    s.wv = rows(w.wv, kv0, kv1);
    s.wo = cols(w.wo, q0, q1);
    s.w_gate = rows(w.w_gate, h0, h1);
    s.w_up = rows(w.w_up, h0, h1);
    s.w_down = cols(w.w_down, h0, h1);
    m.layers.push_back(std::move(s));
  }
  return m;
}

size_t shard_bytes(const Model& shard) {
  return shard.weight_bytes() + shard.token_embd.nbytes();
}

}  // namespace llm::parallel
