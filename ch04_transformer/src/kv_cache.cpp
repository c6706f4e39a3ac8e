#include "llm/transformer/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "llm/config/error.h"
#include "llm/transformer/communicator.h"

namespace llm {

ScratchKvCache::ScratchKvCache(const ModelConfig& c, int max_seqs, int max_tokens, DType dtype)
    : n_layers_(c.n_layers),
      max_seqs_(max_seqs),
      max_tokens_(max_tokens),
      kv_dim_(c.kv_dim()),
      dtype_(dtype),
      elem_(dtype == DType::F16 ? 2 : 4) {
  if (max_seqs <= 0 || max_tokens <= 0) throw Error("KV cache: sizes must be positive");
  if (dtype != DType::F16 && dtype != DType::F32)
    throw Error("KV cache: dtype must be f16 or f32, got " + std::string(dtype_name(dtype)));
  const size_t n = static_cast<size_t>(n_layers_) * max_seqs_ * max_tokens_ * kv_dim_ * elem_;
  k_.assign(n, std::byte{0});
  v_.assign(n, std::byte{0});
  for (int l = 0; l < n_layers_; ++l)
    for (int s = 0; s < max_seqs_; ++s) {
      const size_t o = offset(l, s, 0) * elem_;
      blocks_.push_back(KvBlock{&k_[o], &v_[o], max_tokens_, kv_dim_, dtype_});
    }
}

size_t ScratchKvCache::offset(int layer, int seq, int pos) const {
  if (seq < 0 || seq >= max_seqs_)
    throw Error("KV cache: sequence id " + std::to_string(seq) + " is out of range (0.." +
                std::to_string(max_seqs_ - 1) + ")");
  if (pos < 0 || pos >= max_tokens_)
    throw Error("KV cache: position " + std::to_string(pos) + " is beyond the context of " +
                std::to_string(max_tokens_) + " tokens");
  return ((static_cast<size_t>(layer) * max_seqs_ + seq) * max_tokens_ + pos) * kv_dim_;
}

void encode_kv_row(DType dtype, const float* x, void* out, int n) {
  if (dtype == DType::F32) {
    std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  auto* h = static_cast<uint16_t*>(out);
  for (int i = 0; i < n; ++i) h[i] = f32_to_f16(x[i]);
}

void ScratchKvCache::store(int layer, int seq, int pos, const float* k, const float* v) {
  const size_t o = offset(layer, seq, pos) * elem_;
  encode_kv_row(dtype_, k, &k_[o], kv_dim_);
  encode_kv_row(dtype_, v, &v_[o], kv_dim_);
}

std::span<const KvBlock> ScratchKvCache::blocks(int layer, int seq, int n_tokens) {
  offset(layer, seq, std::max(n_tokens, 1) - 1);  // throws with the reason when out of range
  return {&blocks_[static_cast<size_t>(layer) * max_seqs_ + seq], 1};
}

void SingleRank::all_gather(const float* local, std::span<const size_t> counts, float* out) {
  for (size_t i = 0; i < counts[0]; ++i) out[i] = local[i];
}

}  // namespace llm
