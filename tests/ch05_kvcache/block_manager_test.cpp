// The block allocator on its own: reference counts, caching of named blocks, LRU eviction,
// and its invariants under a long seeded random workload.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "llm/kvcache/block_manager.h"

using namespace llm;

namespace {
std::vector<int32_t> ids(int first, int n) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(first + i);
  return v;
}
}  // namespace

TEST(BlockManager, AllocatesUntilFullThenThrowsWithoutChangingState) {
  BlockManager m(3, 4);
  EXPECT_EQ(m.allocate(), 0);
  EXPECT_EQ(m.allocate(), 1);
  EXPECT_EQ(m.allocate(), 2);
  EXPECT_EQ(m.available(), 0);
  EXPECT_THROW(m.allocate(), KvCacheFull);
  EXPECT_EQ(m.used(), 3);
  m.check_invariants();
  m.release(1);
  EXPECT_EQ(m.free(), 1);
  EXPECT_EQ(m.allocate(), 1);
  EXPECT_THROW(BlockManager(0, 16), Error);
}

TEST(BlockManager, SharedBlockIsFreedByItsLastRelease) {
  BlockManager m(2, 4);
  const int b = m.allocate();
  m.retain(b);
  EXPECT_EQ(m.ref_count(b), 2);
  m.release(b);
  EXPECT_EQ(m.used(), 1);
  m.release(b);
  EXPECT_EQ(m.used(), 0);
  EXPECT_THROW(m.release(b), Error);  // a double free is an error, not a corruption
  m.check_invariants();
}

TEST(BlockManager, NamedBlocksStayCachedAndAreEvictedLeastRecentlyUsedFirst) {
  BlockManager m(2, 4);
  const auto t1 = ids(10, 4), t2 = ids(20, 4), t3 = ids(30, 4);
  const uint64_t h1 = BlockManager::chain_hash(0, t1), h2 = BlockManager::chain_hash(0, t2);
  const int a = m.allocate(), b = m.allocate();
  m.publish(a, h1, t1);
  m.publish(b, h2, t2);
  m.release(a);  // a is released first: the least recently used
  m.release(b);
  EXPECT_EQ(m.cached(), 2);
  EXPECT_EQ(m.free(), 0);
  EXPECT_EQ(m.lookup(h2, t2), b);  // a hit takes the block back into use
  EXPECT_EQ(m.ref_count(b), 1);
  EXPECT_EQ(m.lookup(h2, t3), -1);  // same name, other tokens: a collision is a miss
  const int c = m.allocate();       // must evict a, the only cached block
  EXPECT_EQ(c, a);
  EXPECT_EQ(m.evictions(), 1u);
  EXPECT_EQ(m.lookup(h1, t1), -1);  // its name is gone with it
  m.check_invariants();
}

TEST(BlockManager, ChainHashDependsOnThePredecessor) {
  const auto t = ids(1, 16);
  EXPECT_NE(BlockManager::chain_hash(0, t), BlockManager::chain_hash(1, t));
  EXPECT_EQ(BlockManager::chain_hash(7, t), BlockManager::chain_hash(7, t));
}

// Tens of thousands of seeded random operations — allocate, share, release, name, look up,
// unname — checked against a model of who holds what, with every invariant verified.
TEST(BlockManager, RandomWorkloadKeepsEveryInvariant) {
  BlockManager m(24, 4);
  std::mt19937 rng(1234);
  std::vector<int> held;  // one entry per reference we own
  std::vector<std::pair<uint64_t, std::vector<int32_t>>> names;
  int full = 0;
  for (int op = 0; op < 20000; ++op) {
    const int r = static_cast<int>(rng() % 100);
    if (r < 30) {
      try {
        held.push_back(m.allocate());
      } catch (const KvCacheFull&) {
        ++full;
        ASSERT_EQ(m.available(), 0);
      }
    } else if (r < 45 && !held.empty()) {
      const int b = held[rng() % held.size()];
      m.retain(b);
      held.push_back(b);
    } else if (r < 75 && !held.empty()) {
      const size_t i = rng() % held.size();
      m.release(held[i]);
      held.erase(held.begin() + static_cast<long>(i));
    } else if (r < 85 && !held.empty()) {
      const int b = held[rng() % held.size()];
      auto t = ids(static_cast<int>(rng() % 50), 4);
      const uint64_t h = BlockManager::chain_hash(rng() % 3, t);
      m.publish(b, h, t);
      names.emplace_back(h, t);
    } else if (r < 95 && !names.empty()) {
      const auto& [h, t] = names[rng() % names.size()];
      const int b = m.lookup(h, t);
      if (b >= 0) held.push_back(b);
    } else if (!held.empty()) {
      m.unpublish(held[rng() % held.size()]);
    }
    if (op % 7 == 0) {
      ASSERT_NO_THROW(m.check_invariants()) << "after op " << op;
    }
    std::vector<int> refs(24, 0);
    for (int b : held) ++refs[static_cast<size_t>(b)];
    for (int b = 0; b < 24; ++b) ASSERT_EQ(m.ref_count(b), refs[static_cast<size_t>(b)]);
  }
  for (int b : held) m.release(b);
  m.check_invariants();
  EXPECT_EQ(m.used(), 0);  // nothing leaked
  EXPECT_GT(full, 0);      // the workload did run the pool dry
  EXPECT_GT(m.evictions(), 0u);
}
