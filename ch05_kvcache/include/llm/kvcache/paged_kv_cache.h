// PagedKvCache — chapter 4's KvCache seam, paged (vLLM's PagedAttention memory, taught).
//
// Keys and values live in one preallocated pool of fixed-size blocks; each sequence owns a
// block table (logical block i → physical block). The forward pass sees nothing of it: a
// sequence's history reaches attention as its list of blocks (chapter 3's seam), so chapter 4's
// generation runs on this cache unchanged. What paging buys:
//   - memory for the tokens actually held, not for every sequence's whole context;
//   - fork(): n > 1 samples share their prompt's blocks (reference counts) and copy a shared
//     block only when one of them writes into it (copy-on-write, in begin_batch);
//   - prefix caching: a full block is named by a hash chained over its tokens, so a prompt
//     that starts like an earlier one takes those blocks back (match_prefix) and skips their
//     prefill; released blocks stay cached until evicted, least recently used first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "llm/kvcache/block_manager.h"
#include "llm/transformer/kv_cache.h"

namespace llm {

// How a cache stores one key or value row in another element type than f16/f32: chapter 6
// plugs in q8_0 here (half of f16's memory, as llama.cpp's -ctk q8_0 -ctv q8_0).
struct KvCodec {
  DType dtype;
  void (*encode)(const float* x, void* y, int64_t n);
  void (*decode)(const void* x, float* y, int64_t n);
};

// Where the pool's bytes live. The default is host memory; chapter 9 puts the pool in device
// memory (cudaMalloc), where only its backend reads and writes the rows: the cache then keeps
// the block tables on the host and copies blocks (copy-on-write) through this interface.
class KvPoolMemory {
 public:
  virtual ~KvPoolMemory() = default;
  virtual std::byte* allocate_zeroed(size_t bytes) = 0;  // throws llm::Error when it cannot
  virtual void release(std::byte* p) = 0;
  virtual void copy(std::byte* dst, const std::byte* src, size_t bytes) = 0;  // within the pool
  virtual bool host_accessible() const = 0;  // may the CPU read and write the rows?
};

// Where one (layer, block, row) of the pool is, for a backend that writes the rows itself:
// base + ((layer * n_blocks + block) * block_size + row) * row_bytes, for keys and for values.
struct KvPoolLayout {
  std::byte* k = nullptr;
  std::byte* v = nullptr;
  int n_layers = 0, n_blocks = 0, block_size = 0;
  size_t row_bytes = 0;  // one token's key (or value) in one layer
  DType dtype = DType::F16;
};

struct PagedKvOptions {
  int block_size = 16;             // tokens per block (vLLM's default)
  DType dtype = DType::F16;        // F16 (llama.cpp's default) or F32; ignored when codec is set
  const KvCodec* codec = nullptr;  // another element type (its dtype)
  size_t memory_bytes = 0;         // pool size for keys and values, rounded down to whole
                                   // blocks; 0 (and n_blocks 0): default_kv_memory_bytes()
  int n_blocks = 0;                // or an exact block count (wins over memory_bytes when > 0)
  int max_seqs = 64;               // sequence ids 0..max_seqs-1
  int max_tokens = 0;              // positions per sequence (the context); 0 = the model's
  bool prefix_caching = true;
  KvPoolMemory* memory = nullptr;  // null: host memory; must outlive the cache
  DType element_type() const { return codec ? codec->dtype : dtype; }
};

// The default pool (`--kv-memory`): room for 16 concurrent sequences of 2048 tokens (or of the
// model's whole context when shorter) — what a small server is asked to hold —, at most 1 GiB.
// The default model takes 22.5 KiB per token in f16: 720 MiB.
size_t default_kv_memory_bytes(const ModelConfig& config, DType dtype = DType::F16);

// The cache's state in one struct — what the server publishes and kv-trace draws.
struct KvStats {
  int block_size = 0;
  size_t bytes_per_token = 0;  // keys + values of one token, all layers
  size_t bytes_total = 0;      // the pool
  int blocks_total = 0;
  int blocks_used = 0;    // referenced by a sequence
  int blocks_cached = 0;  // unreferenced, holding a named prefix block (evictable)
  int blocks_free = 0;
  int64_t tokens_held = 0;     // distinct token slots written in used blocks
  double fragmentation = 0;    // unused slots of used blocks / all slots of used blocks
  int64_t prefix_queried = 0;  // prompt tokens offered to match_prefix
  int64_t prefix_hit = 0;      // of those, tokens taken from cached blocks
  double prefix_hit_rate() const {
    return prefix_queried ? static_cast<double>(prefix_hit) / prefix_queried : 0.0;
  }
  uint64_t evictions = 0;
};

class PagedKvCache final : public KvCache {
 public:
  PagedKvCache(const ModelConfig& config, const PagedKvOptions& options);

  // Bytes one token takes (keys and values of every layer) in `dtype`.
  static size_t bytes_per_token(const ModelConfig& config, DType dtype);
  // The pool's block count for these options: n_blocks, or the whole blocks the budget holds.
  static int block_count(const ModelConfig& config, const PagedKvOptions& options);

  // ---- the KvCache seam ----
  void store(int layer, int seq, int pos, const float* k, const float* v) override;
  std::span<const KvBlock> blocks(int layer, int seq, int n_tokens) override;
  void truncate(int seq, int from) override;
  void begin_batch(const Batch& batch) override;
  void end_batch(const Batch& batch) override;
  int max_tokens() const override { return max_tokens_; }
  int max_seqs() const override { return static_cast<int>(seqs_.size()); }
  int kv_dim() const override { return kv_dim_; }
  size_t bytes() const override { return pool_bytes_; }
  DType dtype() const override { return dtype_; }

  // ---- sequences ----
  // Gives an empty sequence the cached blocks of the longest named prefix of `prompt` (whole
  // blocks only, and never the prompt's last token: its logits must still be computed).
  // Returns how many tokens were taken; the caller prefills from there.
  int match_prefix(int seq, std::span<const int32_t> prompt);
  // dst (empty) shares src's blocks; the first write into a shared block copies it.
  void fork(int src, int dst);
  void free(int seq) { truncate(seq, 0); }
  // Replays what truncate, match_prefix and fork recorded in a leader's journal (chapter 11).
  void replay(std::span<const int32_t> journal) override;
  int length(int seq) const { return seq_(seq).length; }
  std::span<const int> block_table(int seq) const { return seq_(seq).table; }
  KvPoolLayout pool_layout() const;
  // New blocks that appending `n` tokens to `seq` needs (a copy of a shared last block included).
  int blocks_needed(int seq, int n) const;
  int available_blocks() const { return manager_.available(); }
  int block_size() const { return manager_.block_size(); }
  const BlockManager& manager() const { return manager_; }

  KvStats stats() const;
  // Sequence tables agree with the manager's reference counts; throws llm::Error if not.
  void check_invariants() const;

 private:
  struct Sequence {
    std::vector<int> table;        // logical block -> physical block
    std::vector<int32_t> tokens;   // the id at each position, -1 when unknown
    std::vector<uint64_t> hashes;  // chained names of the leading full, known blocks
    int length = 0;                // positions held
    std::vector<KvBlock> views;    // [layers][table.size()], rebuilt when the table changes
  };
  const Sequence& seq_(int seq) const;
  Sequence& seq_(int seq) { return const_cast<Sequence&>(std::as_const(*this).seq_(seq)); }
  std::byte* slot(const std::byte* pool, int layer, int block, int row) const;
  void copy_block(int from, int to);  // every layer's keys and values
  void rebuild_views(Sequence& s);
  void name_full_blocks(Sequence& s);

  int n_layers_, kv_dim_, max_tokens_;
  DType dtype_;
  const KvCodec* codec_;
  size_t row_bytes_;  // one token's key (or value) in one layer
  bool prefix_caching_;
  BlockManager manager_;
  size_t pool_bytes_;
  // [layers][blocks][block_size][kv_dim] each, from `memory_` (host memory by default).
  struct PoolDeleter {
    KvPoolMemory* memory;
    void operator()(std::byte* p) const { memory->release(p); }
  };
  KvPoolMemory* memory_;
  std::unique_ptr<std::byte[], PoolDeleter> k_, v_;
  std::vector<Sequence> seqs_;
  int64_t prefix_queried_ = 0, prefix_hit_ = 0;
  // begin_batch's per-sequence plan, kept to allocate nothing per batch.
  std::vector<int> lo_, hi_;
  std::vector<int> touched_;
};

}  // namespace llm
