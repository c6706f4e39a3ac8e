// BlockManager — the bookkeeping of a paged KV cache, with no tensors in it (nano-vllm's
// block manager, taught).
//
// The cache's memory is a pool of fixed-size blocks of `block_size` token slots. A block is
//   in use     — referenced by one or more sequences (ref_count > 0; forks share blocks),
//   cached     — unreferenced but still holding a full block of a known prompt prefix, named
//                by a hash chained over its tokens and its predecessor's hash, so a later
//                request with the same prefix takes it back instead of recomputing it,
//   free       — unreferenced and holding nothing worth keeping.
// allocate() takes a free block first, then evicts the least recently released cached one.
// Running out is a KvCacheFull error the caller handles (the scheduler preempts); it never
// corrupts the state.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "llm/config/error.h"

namespace llm {

// Thrown when a request for blocks cannot be met; nothing was changed.
class KvCacheFull : public Error {
 public:
  using Error::Error;
};

class BlockManager {
 public:
  BlockManager(int n_blocks, int block_size);

  int n_blocks() const { return static_cast<int>(blocks_.size()); }
  int block_size() const { return block_size_; }
  int used() const { return used_; }                            // ref_count > 0
  int cached() const { return static_cast<int>(lru_.size()); }  // evictable, named
  int free() const { return n_blocks() - used_ - cached(); }    // holding nothing
  int available() const { return n_blocks() - used_; }          // free + cached
  int ref_count(int block) const { return blocks_[check(block)].refs; }
  bool named(int block) const { return blocks_[check(block)].named; }  // its hash is published

  // A block with ref_count 1; throws KvCacheFull when none is free or cached.
  int allocate();
  void retain(int block);   // one more sequence shares the block
  void release(int block);  // one fewer; the last release caches a named block, frees others

  // ---- prefix caching ----
  // The name of a full block: FNV-1a over the predecessor's name and the block's token ids.
  static uint64_t chain_hash(uint64_t prev, std::span<const int32_t> tokens);
  // The block published under `hash` whose tokens equal `tokens` (a hash collision is a miss),
  // retained for the caller; -1 when there is none.
  int lookup(uint64_t hash, std::span<const int32_t> tokens);
  // Names a full, written block so later prompts can find it. A no-op when another block
  // already holds that name (two sequences computed the same prefix side by side).
  void publish(int block, uint64_t hash, std::span<const int32_t> tokens);
  // Forgets a block's name before its slots are overwritten.
  void unpublish(int block);
  uint64_t evictions() const { return evictions_; }

  // Verifies every invariant (counts, lists, names); throws llm::Error naming the first
  // violation. For tests: O(n_blocks).
  void check_invariants() const;

 private:
  struct Block {
    int refs = 0;
    bool named = false;
    uint64_t hash = 0;
    std::list<int>::iterator lru;  // valid when cached (refs == 0 && named)
  };
  int check(int block) const;
  std::span<int32_t> tokens_of(int block) {
    return {&tokens_[static_cast<size_t>(block) * block_size_], static_cast<size_t>(block_size_)};
  }
  std::span<const int32_t> tokens_of(int block) const {
    return {&tokens_[static_cast<size_t>(block) * block_size_], static_cast<size_t>(block_size_)};
  }

  int block_size_;
  int used_ = 0;
  uint64_t evictions_ = 0;
  std::vector<Block> blocks_;
  std::vector<int32_t> tokens_;  // [n_blocks][block_size]: the ids a named block holds
  std::vector<int> free_;        // a stack: the most recently freed block is reused first
  std::list<int> lru_;           // cached blocks, least recently released first
  std::unordered_map<uint64_t, int> by_hash_;
};

}  // namespace llm
