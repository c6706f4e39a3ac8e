#include "llm/kvcache/block_manager.h"

#include <algorithm>
#include <string>

namespace llm {

BlockManager::BlockManager(int n_blocks, int block_size) : block_size_(block_size) {
  if (n_blocks <= 0) throw Error("KV cache: the pool needs at least one block");
  if (block_size <= 0) throw Error("KV cache: the block size must be positive");
  blocks_.resize(static_cast<size_t>(n_blocks));
  tokens_.assign(static_cast<size_t>(n_blocks) * block_size, -1);
  // Reversed, so that allocation hands out blocks 0, 1, 2, ... (pictures read better).
  for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int BlockManager::check(int block) const {
  if (block < 0 || block >= n_blocks())
    throw Error("KV cache: block " + std::to_string(block) + " does not exist");
  return block;
}

int BlockManager::allocate() {
  int b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    b = lru_.front();  // evict the least recently released cached block
    lru_.pop_front();
    by_hash_.erase(blocks_[b].hash);
    blocks_[b].named = false;
    ++evictions_;
  } else {
    throw KvCacheFull("KV cache full: all " + std::to_string(n_blocks()) + " blocks of " +
                      std::to_string(block_size_) + " tokens are in use");
  }
  blocks_[b].refs = 1;
  ++used_;
  return b;
}

void BlockManager::retain(int block) {
  Block& b = blocks_[check(block)];
  if (b.refs == 0) {
    if (!b.named) throw Error("KV cache: retain of a free block");
    lru_.erase(b.lru);  // a cached block comes back into use
    ++used_;
  }
  ++b.refs;
}

void BlockManager::release(int block) {
  Block& b = blocks_[check(block)];
  if (b.refs <= 0) throw Error("KV cache: block " + std::to_string(block) + " released twice");
  if (--b.refs > 0) return;
  --used_;
  if (b.named) {
    b.lru = lru_.insert(lru_.end(), block);
  } else {
    free_.push_back(block);
  }
}

uint64_t BlockManager::chain_hash(uint64_t prev, std::span<const int32_t> tokens) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a offset basis
  const auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(prev);
  for (int32_t t : tokens) mix(static_cast<uint32_t>(t));
  return h;
}

int BlockManager::lookup(uint64_t hash, std::span<const int32_t> tokens) {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return -1;
  const std::span<const int32_t> held = tokens_of(it->second);
  if (!std::equal(held.begin(), held.end(), tokens.begin(), tokens.end())) return -1;
  retain(it->second);
  return it->second;
}

void BlockManager::publish(int block, uint64_t hash, std::span<const int32_t> tokens) {
  Block& b = blocks_[check(block)];
  if (b.refs <= 0) throw Error("KV cache: publish of an unused block");
  if (static_cast<int>(tokens.size()) != block_size_)
    throw Error("KV cache: only a full block can be published");
  if (b.named || by_hash_.count(hash)) return;
  b.named = true;
  b.hash = hash;
  by_hash_.emplace(hash, block);
  std::copy(tokens.begin(), tokens.end(), tokens_of(block).begin());
}

void BlockManager::unpublish(int block) {
  Block& b = blocks_[check(block)];
  if (!b.named) return;
  if (b.refs == 0) throw Error("KV cache: unpublish of a cached block");
  by_hash_.erase(b.hash);
  b.named = false;
}

void BlockManager::check_invariants() const {
  const auto fail = [](const std::string& what) { throw Error("BlockManager invariant: " + what); };
  int used = 0, named = 0;
  std::vector<int> seen(blocks_.size(), 0);
  for (int b : free_) {
    if (b < 0 || b >= n_blocks()) fail("free list holds a bad id");
    if (seen[b]++) fail("block " + std::to_string(b) + " twice in the free list");
    if (blocks_[b].refs != 0 || blocks_[b].named) fail("free block in use or named");
  }
  for (int b : lru_) {
    if (seen[b]++) fail("block " + std::to_string(b) + " both free and cached");
    if (blocks_[b].refs != 0 || !blocks_[b].named) fail("cached block in use or unnamed");
  }
  for (int b = 0; b < n_blocks(); ++b) {
    const Block& x = blocks_[b];
    if (x.refs < 0) fail("negative reference count");
    if (x.refs > 0) {
      ++used;
      if (seen[b]) fail("block in use is also free or cached");
    } else if (!seen[b]) {
      fail("block " + std::to_string(b) + " is unreferenced but neither free nor cached");
    }
    if (x.named) {
      ++named;
      const auto it = by_hash_.find(x.hash);
      if (it == by_hash_.end() || it->second != b) fail("named block missing from the hash map");
    }
  }
  if (used != used_) fail("used count " + std::to_string(used_) + " != " + std::to_string(used));
  if (named != static_cast<int>(by_hash_.size())) fail("hash map holds stale names");
}

}  // namespace llm
