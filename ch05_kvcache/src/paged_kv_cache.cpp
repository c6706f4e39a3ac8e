#include "llm/kvcache/paged_kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace llm {
namespace {
int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}
// Journal entries (chapter 11): op, two arguments, and for match_prefix the prompt's tokens.
constexpr int32_t kJournalTruncate = 1;     // seq, from
constexpr int32_t kJournalFork = 2;         // src, dst
constexpr int32_t kJournalMatchPrefix = 3;  // seq, n, then n token ids
}  // namespace

size_t PagedKvCache::bytes_per_token(const ModelConfig& c, DType dtype) {
  return 2 * static_cast<size_t>(c.n_layers) * row_bytes(dtype, c.kv_dim());
}

size_t default_kv_memory_bytes(const ModelConfig& c, DType dtype) {
  const size_t tokens = 16 * static_cast<size_t>(std::min(std::max(c.max_seq_len, 16), 2048));
  return std::min(tokens * PagedKvCache::bytes_per_token(c, dtype), size_t{1} << 30);
}

namespace {
// The default pool memory: the host's, zeroed now, so the whole budget is committed up front
// (as a server should: it either has the memory or fails at start) and no request pays the
// page faults of a first-touched block.
class HostPoolMemory final : public KvPoolMemory {
 public:
  std::byte* allocate_zeroed(size_t bytes) override { return new std::byte[bytes](); }
  void release(std::byte* p) override { delete[] p; }
  void copy(std::byte* dst, const std::byte* src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  bool host_accessible() const override { return true; }
};
HostPoolMemory g_host_pool;
}  // namespace

// The pool's blocks: n_blocks, or as many whole blocks as the memory budget holds.
int PagedKvCache::block_count(const ModelConfig& c, const PagedKvOptions& o) {
  if (o.n_blocks > 0) return o.n_blocks;
  const DType t = o.element_type();
  const size_t budget = o.memory_bytes > 0 ? o.memory_bytes : default_kv_memory_bytes(c, t);
  const size_t per_block = PagedKvCache::bytes_per_token(c, t) * std::max(1, o.block_size);
  return static_cast<int>(std::min<size_t>(budget / std::max<size_t>(1, per_block), 1u << 30));
}

PagedKvCache::PagedKvCache(const ModelConfig& c, const PagedKvOptions& o)
    : n_layers_(c.n_layers),
      kv_dim_(c.kv_dim()),
      max_tokens_(o.max_tokens > 0 ? o.max_tokens : c.max_seq_len),
      dtype_(o.element_type()),
      codec_(o.codec),
      row_bytes_(row_bytes(dtype_, c.kv_dim())),
      prefix_caching_(o.prefix_caching),
      manager_(block_count(c, o), o.block_size),
      memory_(o.memory ? o.memory : &g_host_pool),
      k_(nullptr, PoolDeleter{memory_}),
      v_(nullptr, PoolDeleter{memory_}) {
  if (!codec_ && dtype_ != DType::F16 && dtype_ != DType::F32)
    throw Error("KV cache: dtype must be f16 or f32 (or come with a codec), got " +
                std::string(dtype_name(dtype_)));
  if (codec_ && c.head_dim % dtype_layout(dtype_).block_size != 0)
    throw Error("KV cache: " + std::string(dtype_name(dtype_)) + " needs a head size that is a " +
                "multiple of " + std::to_string(dtype_layout(dtype_).block_size) +
                "; this model's is " + std::to_string(c.head_dim));
  if (max_tokens_ <= 0) throw Error("KV cache: the context (max_tokens) must be positive");
  if (o.max_seqs <= 0) throw Error("KV cache: max_seqs must be positive");
  const size_t per_layer = static_cast<size_t>(manager_.n_blocks()) * o.block_size * row_bytes_;
  pool_bytes_ = 2 * per_layer * n_layers_;
  k_.reset(memory_->allocate_zeroed(per_layer * n_layers_));
  v_.reset(memory_->allocate_zeroed(per_layer * n_layers_));
  seqs_.resize(static_cast<size_t>(o.max_seqs));
  lo_.assign(seqs_.size(), 0);
  hi_.assign(seqs_.size(), -1);
}

const PagedKvCache::Sequence& PagedKvCache::seq_(int seq) const {
  if (seq < 0 || seq >= max_seqs())
    throw Error("KV cache: sequence id " + std::to_string(seq) + " is out of range (0.." +
                std::to_string(max_seqs() - 1) + ")");
  return seqs_[static_cast<size_t>(seq)];
}

std::byte* PagedKvCache::slot(const std::byte* pool, int layer, int block, int row) const {
  const size_t index =
      (static_cast<size_t>(layer) * manager_.n_blocks() + block) * manager_.block_size() + row;
  return const_cast<std::byte*>(pool) + index * row_bytes_;
}

void PagedKvCache::copy_block(int from, int to) {
  const size_t bytes = row_bytes_ * manager_.block_size();
  for (int l = 0; l < n_layers_; ++l) {
    memory_->copy(slot(k_.get(), l, to, 0), slot(k_.get(), l, from, 0), bytes);
    memory_->copy(slot(v_.get(), l, to, 0), slot(v_.get(), l, from, 0), bytes);
  }
}

void PagedKvCache::rebuild_views(Sequence& s) {
  const size_t nb = s.table.size();
  s.views.resize(static_cast<size_t>(n_layers_) * nb);
  for (int l = 0; l < n_layers_; ++l)
    for (size_t i = 0; i < nb; ++i)
      s.views[l * nb + i] = KvBlock{slot(k_.get(), l, s.table[i], 0),
                                    slot(v_.get(), l, s.table[i], 0),
                                    manager_.block_size(),
                                    kv_dim_,
                                    dtype_,
                                    codec_ ? codec_->decode : nullptr};
}

KvPoolLayout PagedKvCache::pool_layout() const {
  return {k_.get(),   v_.get(), n_layers_, manager_.n_blocks(), manager_.block_size(),
          row_bytes_, dtype_};
}

void PagedKvCache::store(int layer, int seq, int pos, const float* k, const float* v) {
  if (!memory_->host_accessible())
    throw Error("KV cache: the pool is in device memory; its backend stores the rows");
  const Sequence& s = seq_(seq);
  const int bs = manager_.block_size();
  if (layer < 0 || layer >= n_layers_ || pos < 0 || pos / bs >= static_cast<int>(s.table.size()))
    throw Error("KV cache: no block for position " + std::to_string(pos) + " of sequence " +
                std::to_string(seq) + " (begin_batch was not called?)");
  const int block = s.table[static_cast<size_t>(pos / bs)];
  std::byte* kd = slot(k_.get(), layer, block, pos % bs);
  std::byte* vd = slot(v_.get(), layer, block, pos % bs);
  if (codec_) {
    codec_->encode(k, kd, kv_dim_);
    codec_->encode(v, vd, kv_dim_);
  } else {
    encode_kv_row(dtype_, k, kd, kv_dim_);
    encode_kv_row(dtype_, v, vd, kv_dim_);
  }
}

std::span<const KvBlock> PagedKvCache::blocks(int layer, int seq, int n_tokens) {
  const Sequence& s = seq_(seq);
  const int need = ceil_div(std::max(n_tokens, 1), manager_.block_size());
  if (layer < 0 || layer >= n_layers_ || need > static_cast<int>(s.table.size()))
    throw Error("KV cache: sequence " + std::to_string(seq) + " holds " + std::to_string(s.length) +
                " positions, not " + std::to_string(n_tokens));
  return {&s.views[static_cast<size_t>(layer) * s.table.size()], static_cast<size_t>(need)};
}

void PagedKvCache::truncate(int seq, int from) {
  Sequence& s = seq_(seq);
  if (from < 0) throw Error("KV cache: negative truncation point");
  if (from >= s.length) return;
  const size_t keep = static_cast<size_t>(ceil_div(from, manager_.block_size()));
  for (size_t i = keep; i < s.table.size(); ++i) manager_.release(s.table[i]);
  s.table.resize(keep);
  s.tokens.resize(static_cast<size_t>(from));
  s.hashes.resize(std::min(s.hashes.size(), static_cast<size_t>(from / manager_.block_size())));
  s.length = from;
  rebuild_views(s);
  if (journal_) journal_->insert(journal_->end(), {kJournalTruncate, seq, from});
}

int PagedKvCache::blocks_needed(int seq, int n) const {
  const Sequence& s = seq_(seq);
  const int bs = manager_.block_size();
  const int have = static_cast<int>(s.table.size());
  int need = std::max(0, ceil_div(s.length + n, bs) - have);
  // Writing into a partly filled last block that another sequence shares copies it first.
  if (n > 0 && s.length % bs != 0 && manager_.ref_count(s.table.back()) > 1) ++need;
  return need;
}

void PagedKvCache::begin_batch(const Batch& batch) {
  const int bs = manager_.block_size();
  // The range of positions the batch writes in each sequence.
  touched_.clear();
  for (int i = 0; i < batch.size(); ++i) {
    const int sq = batch.seq_ids[i], pos = batch.positions[i];
    seq_(sq);
    if (pos < 0 || pos >= max_tokens_)
      throw Error("KV cache: position " + std::to_string(pos) + " is beyond the context of " +
                  std::to_string(max_tokens_) + " tokens");
    const size_t u = static_cast<size_t>(sq);
    if (hi_[u] < 0) {
      touched_.push_back(sq);
      lo_[u] = hi_[u] = pos;
    } else {
      lo_[u] = std::min(lo_[u], pos);
      hi_[u] = std::max(hi_[u], pos);
    }
  }
  // Count the blocks this needs (new ones, and copies of shared ones written into) before
  // changing anything, so that running out leaves the cache as it was.
  int need = 0;
  for (int sq : touched_) {
    const Sequence& s = seqs_[static_cast<size_t>(sq)];
    const size_t u = static_cast<size_t>(sq);
    const int first = lo_[u] / bs, last = hi_[u] / bs;
    for (int b = first; b <= last; ++b)
      if (b >= static_cast<int>(s.table.size()) || manager_.ref_count(s.table[b]) > 1) ++need;
  }
  if (need > manager_.available()) {
    for (int sq : touched_) hi_[static_cast<size_t>(sq)] = -1;
    throw KvCacheFull("KV cache full: the batch needs " + std::to_string(need) + " blocks, " +
                      std::to_string(manager_.available()) + " of " +
                      std::to_string(manager_.n_blocks()) + " are available");
  }
  for (int sq : touched_) {
    Sequence& s = seqs_[static_cast<size_t>(sq)];
    const size_t u = static_cast<size_t>(sq);
    const int first = lo_[u] / bs, last = hi_[u] / bs;
    // Positions written anew invalidate the names computed over the old ones.
    if (lo_[u] < s.length) s.hashes.resize(std::min(s.hashes.size(), static_cast<size_t>(first)));
    bool changed = false;
    for (int b = first; b <= last; ++b) {
      if (b < static_cast<int>(s.table.size())) {
        const int old = s.table[static_cast<size_t>(b)];
        if (manager_.ref_count(old) > 1) {  // copy-on-write
          const int fresh = manager_.allocate();
          copy_block(old, fresh);
          manager_.release(old);
          s.table[static_cast<size_t>(b)] = fresh;
          changed = true;
        } else {
          manager_.unpublish(old);  // its slots are about to change
        }
      } else {
        while (static_cast<int>(s.table.size()) <= b) s.table.push_back(manager_.allocate());
        changed = true;
      }
    }
    s.length = std::max(s.length, hi_[u] + 1);
    s.tokens.resize(static_cast<size_t>(s.length), -1);
    if (changed) rebuild_views(s);
  }
  for (int i = 0; i < batch.size(); ++i)
    seqs_[static_cast<size_t>(batch.seq_ids[i])].tokens[static_cast<size_t>(batch.positions[i])] =
        batch.tokens[i];
}

void PagedKvCache::name_full_blocks(Sequence& s) {
  const int bs = manager_.block_size();
  while (static_cast<int>(s.hashes.size() + 1) * bs <= s.length) {
    const size_t b = s.hashes.size();
    const std::span<const int32_t> ids(&s.tokens[b * bs], static_cast<size_t>(bs));
    if (std::find(ids.begin(), ids.end(), -1) != ids.end()) return;  // unknown tokens: unnamed
    const uint64_t h = BlockManager::chain_hash(b ? s.hashes.back() : 0, ids);
    s.hashes.push_back(h);
    if (prefix_caching_) manager_.publish(s.table[b], h, ids);
  }
}

void PagedKvCache::end_batch(const Batch&) {
  for (int sq : touched_) {
    name_full_blocks(seqs_[static_cast<size_t>(sq)]);
    hi_[static_cast<size_t>(sq)] = -1;
  }
  touched_.clear();
}

int PagedKvCache::match_prefix(int seq, std::span<const int32_t> prompt) {
  Sequence& s = seq_(seq);
  if (s.length != 0) throw Error("KV cache: match_prefix needs an empty sequence");
  prefix_queried_ += static_cast<int64_t>(prompt.size());
  if (!prefix_caching_ || prompt.empty()) return 0;
  const int bs = manager_.block_size();
  const size_t full = (prompt.size() - 1) / bs;  // the last token is always computed
  uint64_t h = 0;
  for (size_t b = 0; b < full; ++b) {
    const std::span<const int32_t> ids = prompt.subspan(b * bs, static_cast<size_t>(bs));
    h = BlockManager::chain_hash(h, ids);
    const int block = manager_.lookup(h, ids);
    if (block < 0) break;
    s.table.push_back(block);
    s.hashes.push_back(h);
  }
  s.length = static_cast<int>(s.table.size()) * bs;
  s.tokens.assign(prompt.begin(), prompt.begin() + s.length);
  prefix_hit_ += s.length;
  rebuild_views(s);
  if (journal_) {
    journal_->insert(journal_->end(),
                     {kJournalMatchPrefix, seq, static_cast<int32_t>(prompt.size())});
    journal_->insert(journal_->end(), prompt.begin(), prompt.end());
  }
  return s.length;
}

void PagedKvCache::fork(int src, int dst) {
  if (src == dst) throw Error("KV cache: a sequence cannot fork into itself");
  const Sequence& from = seq_(src);
  Sequence& to = seq_(dst);
  if (to.length != 0) throw Error("KV cache: fork needs an empty destination sequence");
  for (int b : from.table) manager_.retain(b);
  to.table = from.table;
  to.tokens = from.tokens;
  to.hashes = from.hashes;
  to.length = from.length;
  rebuild_views(to);
  if (journal_) journal_->insert(journal_->end(), {kJournalFork, src, dst});
}

void PagedKvCache::replay(std::span<const int32_t> j) {
  std::vector<int32_t>* const journal = std::exchange(journal_, nullptr);  // a follower keeps none
  size_t i = 0;
  auto next = [&]() -> int32_t {
    if (i >= j.size()) throw Error("KV cache: truncated journal");
    return j[i++];
  };
  while (i < j.size()) {
    const int32_t op = next(), a = next(), b = next();
    if (op == kJournalTruncate) {
      truncate(a, b);
    } else if (op == kJournalFork) {
      fork(a, b);
    } else if (op == kJournalMatchPrefix) {
      if (b < 0 || static_cast<size_t>(b) > j.size() - i)
        throw Error("KV cache: truncated journal");
      match_prefix(a, j.subspan(i, static_cast<size_t>(b)));
      i += static_cast<size_t>(b);
    } else {
      throw Error("KV cache: unknown journal entry " + std::to_string(op));
    }
  }
  journal_ = journal;
}

KvStats PagedKvCache::stats() const {
  KvStats st;
  const int bs = manager_.block_size();
  st.block_size = bs;
  st.bytes_per_token = 2 * static_cast<size_t>(n_layers_) * row_bytes_;
  st.bytes_total = pool_bytes_;
  st.blocks_total = manager_.n_blocks();
  st.blocks_used = manager_.used();
  st.blocks_cached = manager_.cached();
  st.blocks_free = manager_.free();
  // A block shared by several sequences is counted once, as full as its fullest user.
  std::vector<int> filled(static_cast<size_t>(manager_.n_blocks()), 0);
  for (const Sequence& s : seqs_)
    for (size_t i = 0; i < s.table.size(); ++i) {
      int& f = filled[static_cast<size_t>(s.table[i])];
      f = std::max(f, std::min(bs, s.length - static_cast<int>(i) * bs));
    }
  for (int f : filled) st.tokens_held += f;
  const int64_t slots = static_cast<int64_t>(st.blocks_used) * bs;
  st.fragmentation = slots ? static_cast<double>(slots - st.tokens_held) / slots : 0.0;
  st.prefix_queried = prefix_queried_;
  st.prefix_hit = prefix_hit_;
  st.evictions = manager_.evictions();
  return st;
}

void PagedKvCache::check_invariants() const {
  manager_.check_invariants();
  std::vector<int> refs(static_cast<size_t>(manager_.n_blocks()), 0);
  const int bs = manager_.block_size();
  for (const Sequence& s : seqs_) {
    if (static_cast<int>(s.table.size()) != ceil_div(s.length, bs))
      throw Error("KV cache invariant: a block table does not match its sequence's length");
    if (static_cast<int>(s.tokens.size()) != s.length)
      throw Error("KV cache invariant: token record does not match the length");
    for (int b : s.table) ++refs[static_cast<size_t>(b)];
  }
  for (int b = 0; b < manager_.n_blocks(); ++b)
    if (refs[static_cast<size_t>(b)] != manager_.ref_count(b))
      throw Error("KV cache invariant: block " + std::to_string(b) + " has reference count " +
                  std::to_string(manager_.ref_count(b)) + " but " +
                  std::to_string(refs[static_cast<size_t>(b)]) + " tables hold it");
}

}  // namespace llm
