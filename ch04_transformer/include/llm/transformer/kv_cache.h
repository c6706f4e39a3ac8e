// KvCache — where the forward pass keeps keys and values between steps.
//
// The forward pass writes the key and value of each token through store() and reads a
// sequence's history as a list of blocks (the attention seam of chapter 3). This chapter's
// ScratchKvCache gives each sequence one contiguous region; chapter 5 plugs in here with a
// paged cache (block tables, reference counts, prefix sharing) behind the same interface.
// Entries are stored as f16 by default (llama.cpp's default: half the memory, and the same
// rounding) or f32.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "llm/attention/attention.h"
#include "llm/config/dtype.h"
#include "llm/config/model_config.h"
#include "llm/transformer/batch.h"

namespace llm {

class KvCache {
 public:
  virtual ~KvCache() = default;
  // Stores the key and value ([n_kv_heads * head_dim] each) of `seq` at `pos` in `layer`,
  // converted to the cache's dtype. Throws llm::Error when the sequence id or position is
  // beyond what the cache can hold.
  virtual void store(int layer, int seq, int pos, const float* k, const float* v) = 0;
  // Called by the forward pass around each batch. begin_batch makes room for every (sequence,
  // position) of the batch before any layer runs, and throws llm::Error — having changed
  // nothing — when it cannot; end_batch runs after the last layer wrote its keys and values.
  // The scratch cache needs neither; chapter 5's paged cache allocates blocks (copying shared
  // ones before they are written) in begin_batch and names the blocks the batch filled, for
  // prefix caching, in end_batch.
  virtual void begin_batch(const Batch& /*batch*/) {}
  virtual void end_batch(const Batch& /*batch*/) {}
  // Blocks covering (at least) positions [0, n_tokens) of `seq` in `layer`, in position order.
  // The span stays valid until the cache is next modified (store, truncate): the attention op
  // asks for every token of a batch first, then reads them all, possibly on several threads.
  virtual std::span<const KvBlock> blocks(int layer, int seq, int n_tokens) = 0;
  // Forgets the positions >= `from` of a sequence (0 = the whole sequence).
  virtual void truncate(int seq, int from) = 0;
  virtual int max_tokens() const = 0;  // positions per sequence
  virtual int max_seqs() const = 0;
  virtual int kv_dim() const = 0;    // n_kv_heads * head_dim: the floats of one key or value
  virtual size_t bytes() const = 0;  // memory held, for accounting
  virtual DType dtype() const = 0;   // F16 or F32

  // Tensor parallelism (chapter 11): every rank holds a shard of the cache (its own KV heads),
  // and each follower's block tables must change exactly as the leader's do. A cache whose
  // tables change outside forward() — chapter 5's truncate, fork and match_prefix — appends
  // each change to the journal while one is set; the leader ships the journal with the next
  // batch and every follower replays it before running that batch. The scratch cache's tables
  // never change, so it records nothing.
  void set_journal(std::vector<int32_t>* journal) { journal_ = journal; }
  virtual void replay(std::span<const int32_t> journal) { (void)journal; }

 protected:
  std::vector<int32_t>* journal_ = nullptr;
};

// Writes one key or value row of n floats as a cache element type: f32 as is, f16 rounded to
// nearest (llama.cpp's). Every cache stores through it (chapter 5's too).
void encode_kv_row(DType dtype, const float* x, void* out, int n);

// One contiguous [layers][seqs][max_tokens][kv_dim] region for keys and one for values.
class ScratchKvCache final : public KvCache {
 public:
  ScratchKvCache(const ModelConfig& config, int max_seqs, int max_tokens, DType dtype = DType::F16);
  void store(int layer, int seq, int pos, const float* k, const float* v) override;
  std::span<const KvBlock> blocks(int layer, int seq, int n_tokens) override;
  void truncate(int, int) override {}  // positions are simply overwritten
  int max_tokens() const override { return max_tokens_; }
  int max_seqs() const override { return max_seqs_; }
  int kv_dim() const override { return kv_dim_; }
  size_t bytes() const override { return k_.size() + v_.size(); }
  DType dtype() const override { return dtype_; }

 private:
  size_t offset(int layer, int seq, int pos) const;  // in elements
  int n_layers_, max_seqs_, max_tokens_, kv_dim_;
  DType dtype_;
  size_t elem_;  // bytes per element
  std::vector<std::byte> k_, v_;
  std::vector<KvBlock> blocks_;  // [layers][seqs]: each sequence's whole region, one block
};

}  // namespace llm
