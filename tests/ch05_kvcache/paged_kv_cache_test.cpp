// The paged cache behind chapter 4's seam: the same logits and ids as the scratch cache,
// copy-on-write after fork, prefix reuse that changes nothing but the work done, running out
// of blocks as an error, and the allocator's invariants under a long random workload.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "llm/kvcache/paged_kv_cache.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"
#include "llm/transformer/generator.h"
#include "llm/transformer/transformer.h"

using namespace llm;
namespace t = llm::testing;

namespace {

Model tiny_model() {
  ModelConfig c = t::tiny_llama_config();
  c.max_seq_len = 96;
  c.tied_embeddings = true;
  return Model::from_tensors(c, t::random_llama_weights(c, 7, {1.0f, 0.3f}), "tiny");
}

Kernels reference_kernels() {
  Registry r;
  register_transformer(r);
  return Kernels::reference(r);
}

PagedKvOptions opts(int n_blocks, int block_size = 4, DType dtype = DType::F16) {
  PagedKvOptions o;
  o.n_blocks = n_blocks;
  o.block_size = block_size;
  o.dtype = dtype;
  o.max_seqs = 8;
  return o;
}

std::vector<int32_t> prompt_ids(int n, int seed) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back((seed * 31 + i * 7) % 67);
  return v;
}

// Feeds `ids` at positions from..from+n-1 of seq in chunks, returns the last token's logits.
std::vector<float> feed(Transformer& tr, std::span<const int32_t> ids, int from, int seq,
                        int chunk = 1000) {
  std::span<const float> out;
  for (int at = from; at < static_cast<int>(ids.size()); at += chunk) {
    Batch b;
    const int end = std::min<int>(static_cast<int>(ids.size()), at + chunk);
    for (int p = at; p < end; ++p) b.add(ids[p], p, seq, p == end - 1);
    out = tr.forward(b);
  }
  return {out.begin(), out.end()};
}

}  // namespace

TEST(PagedKvCache, SameLogitsAsTheScratchCacheForPromptAndDecode) {
  const Model m = tiny_model();
  for (DType dtype : {DType::F16, DType::F32}) {
    ScratchKvCache scratch(m.config, 1, 96, dtype);
    PagedKvCache paged(m.config, opts(40, 4, dtype));
    Transformer a(m, reference_kernels(), scratch), b(m, reference_kernels(), paged);
    auto ids = prompt_ids(13, 1);
    ASSERT_EQ(feed(a, ids, 0, 0), feed(b, ids, 0, 0));
    for (int step = 0; step < 30; ++step) {  // decode across several block boundaries
      ids.push_back(static_cast<int32_t>((step * 5) % 67));
      const auto la = feed(a, ids, static_cast<int>(ids.size()) - 1, 0);
      const auto lb = feed(b, ids, static_cast<int>(ids.size()) - 1, 0);
      ASSERT_EQ(la, lb) << dtype_name(dtype) << " step " << step;
    }
    EXPECT_EQ(paged.length(0), 43);
    EXPECT_EQ(paged.stats().blocks_used, 11);  // ceil(43 / 4)
    paged.check_invariants();
  }
}

TEST(PagedKvCache, Stories260KGreedyIdsUnchangedThroughChapter4sGenerate) {
  const std::string bin = t::models_dir() + "/stories260K.bin";
  if (!t::file_exists(bin)) GTEST_SKIP() << t::skip_reason(bin);
  const Model m = load_llama2c(bin);
  ScratchKvCache scratch(m.config, 1, m.config.max_seq_len);
  PagedKvOptions o;
  o.memory_bytes = 1 << 20;
  o.max_seqs = 1;
  PagedKvCache paged(m.config, o);
  Transformer a(m, reference_kernels(), scratch), b(m, reference_kernels(), paged);
  GenerateOptions g;
  g.max_tokens = 200;
  g.sampler.temperature = 0;
  const std::vector<int32_t> bos = {1};
  const auto ra = generate(a, nullptr, bos, g), rb = generate(b, nullptr, bos, g);
  EXPECT_EQ(ra.ids, rb.ids);
  EXPECT_EQ(ra.ids.size(), 200u);
  g.use_kv_cache = false;  // the recompute baseline truncates and re-feeds: blocks are reused
  g.max_tokens = 40;
  const auto rc = generate(b, nullptr, bos, g);
  EXPECT_EQ(std::vector<int32_t>(ra.ids.begin(), ra.ids.begin() + 40), rc.ids);
  paged.check_invariants();
}

TEST(PagedKvCache, ForkSharesBlocksAndCopiesOnWrite) {
  const Model m = tiny_model();
  PagedKvCache paged(m.config, opts(16));
  Transformer tr(m, reference_kernels(), paged);
  auto ids = prompt_ids(10, 2);  // blocks 0,1 full, block 2 holds 2 of 4
  feed(tr, ids, 0, 0);
  paged.fork(0, 1);
  EXPECT_EQ(paged.stats().blocks_used, 3);  // shared, not copied
  const int shared_last = paged.block_table(0)[2];
  EXPECT_EQ(paged.manager().ref_count(shared_last), 2);
  const auto before = paged.blocks(0, 0, 10);
  std::vector<std::byte> k0(static_cast<const std::byte*>(before[2].k),
                            static_cast<const std::byte*>(before[2].k) + 2 * 2 * m.config.kv_dim());
  // Child and parent each append a different token: the shared last block is copied once.
  auto child = ids, parent = ids;
  child.push_back(5);
  parent.push_back(6);
  const auto lc = feed(tr, child, 10, 1);
  EXPECT_NE(paged.block_table(1)[2], shared_last);
  EXPECT_EQ(paged.block_table(1)[0], paged.block_table(0)[0]);  // full blocks stay shared
  EXPECT_EQ(paged.manager().ref_count(shared_last), 1);
  const auto lp = feed(tr, parent, 10, 0);
  EXPECT_EQ(paged.block_table(0)[2], shared_last);  // the parent wrote in place
  EXPECT_EQ(std::memcmp(paged.blocks(0, 0, 10)[2].k, k0.data(), k0.size()), 0);
  // Each equals what a lone sequence computes the same way (a 10-token prompt, then one token:
  // the reference attention rounds a prompt and a decoded token differently, as llama.cpp does).
  PagedKvCache solo(m.config, opts(16));
  Transformer ts(m, reference_kernels(), solo);
  EXPECT_EQ(lc, feed(ts, child, 0, 0, 10));
  solo.free(0);
  EXPECT_EQ(lp, feed(ts, parent, 0, 0, 10));
  paged.check_invariants();
  paged.free(0);
  paged.free(1);
  EXPECT_EQ(paged.stats().blocks_used, 0);
}

TEST(PagedKvCache, CachedPrefixIsReusedAndGivesTheSameLogits) {
  const Model m = tiny_model();
  PagedKvCache paged(m.config, opts(32));
  Transformer tr(m, reference_kernels(), paged);
  const auto first = prompt_ids(18, 3);
  auto second = first;
  second.resize(11);
  second.push_back(60);
  second.push_back(61);  // shares its first 11 tokens: two full blocks of 4
  EXPECT_EQ(paged.match_prefix(0, first), 0);
  feed(tr, first, 0, 0);
  paged.free(0);
  EXPECT_EQ(paged.stats().blocks_cached, 4);  // the four full blocks stay, named
  const int hit = paged.match_prefix(1, second);
  EXPECT_EQ(hit, 8);
  const auto reused = feed(tr, second, hit, 1);
  PagedKvCache fresh(m.config, opts(32));
  Transformer tf(m, reference_kernels(), fresh);
  EXPECT_EQ(reused, feed(tf, second, 0, 0));
  const KvStats st = paged.stats();
  EXPECT_EQ(st.prefix_queried, 18 + 13);
  EXPECT_EQ(st.prefix_hit, 8);
  // The whole prompt cached: everything but the last token's block is taken.
  paged.free(1);
  EXPECT_EQ(paged.match_prefix(2, first), 16);
  paged.check_invariants();
}

TEST(PagedKvCache, RunningOutOfBlocksIsAnErrorThatChangesNothing) {
  const Model m = tiny_model();
  PagedKvCache paged(m.config, opts(3));
  Transformer tr(m, reference_kernels(), paged);
  const auto ids = prompt_ids(10, 4);
  feed(tr, ids, 0, 0);  // 3 blocks
  const KvStats before = paged.stats();
  Batch b;
  b.add(1, 0, 1, true);  // a second sequence needs a fourth block
  EXPECT_THROW(tr.forward(b), KvCacheFull);
  const KvStats after = paged.stats();
  EXPECT_EQ(after.blocks_used, before.blocks_used);
  EXPECT_EQ(paged.length(1), 0);
  paged.check_invariants();
  paged.free(0);
  EXPECT_NO_THROW(tr.forward(b));  // and it recovers once blocks are freed
}

TEST(PagedKvCache, SizedFromAMemoryBudgetAndAccountsFragmentation) {
  const Model m = tiny_model();
  PagedKvOptions o;
  o.block_size = 16;
  o.memory_bytes = 1 << 20;
  PagedKvCache paged(m.config, o);
  const size_t per_token = PagedKvCache::bytes_per_token(m.config, DType::F16);
  EXPECT_EQ(per_token, 2u * 2 * 16 * 2);  // K and V, 2 layers, kv_dim 16, 2 bytes
  EXPECT_EQ(paged.manager().n_blocks(), static_cast<int>((1 << 20) / (per_token * 16)));
  EXPECT_LE(paged.bytes(), size_t{1} << 20);
  Transformer tr(m, reference_kernels(), paged);
  feed(tr, prompt_ids(20, 5), 0, 0);  // 2 blocks, 12 of 32 slots unused
  const KvStats st = paged.stats();
  EXPECT_EQ(st.tokens_held, 20);
  EXPECT_DOUBLE_EQ(st.fragmentation, 12.0 / 32.0);
}

// At least 10,000 seeded operations on sequences — new prompts (with prefix matching), decode
// appends, forks, truncations, frees — some of which run out of blocks. After each one the
// tables, reference counts and lists agree; at the end everything is free.
TEST(PagedKvCache, RandomWorkloadOfSequencesKeepsInvariants) {
  ModelConfig c;
  c.n_layers = 1;
  c.n_heads = c.n_kv_heads = 1;
  c.head_dim = 4;
  c.max_seq_len = 64;
  PagedKvOptions o = opts(20, 4);
  o.max_seqs = 6;
  PagedKvCache cache(c, o);
  std::mt19937 rng(99);
  const std::vector<std::vector<int32_t>> prefixes = {prompt_ids(9, 1), prompt_ids(13, 2),
                                                      prompt_ids(6, 3)};
  int full = 0, hits = 0;
  const auto write = [&](int seq, const std::vector<int32_t>& ids, int from) {
    Batch b;
    for (int p = from; p < static_cast<int>(ids.size()); ++p) b.add(ids[p], p, seq, false);
    cache.begin_batch(b);  // what the forward pass does around its layers
    cache.end_batch(b);
  };
  std::vector<std::vector<int32_t>> tokens(6);
  for (int op = 0; op < 12000; ++op) {
    const int seq = static_cast<int>(rng() % 6);
    const int r = static_cast<int>(rng() % 100);
    try {
      if (cache.length(seq) == 0 && r < 50) {
        auto p = prefixes[rng() % prefixes.size()];
        p.push_back(static_cast<int32_t>(rng() % 67));
        const int hit = cache.match_prefix(seq, p);
        hits += hit > 0;
        tokens[seq] = p;
        try {
          write(seq, p, hit);
        } catch (const KvCacheFull&) {
          cache.free(seq);  // what the scheduler does with a request it cannot admit
          throw;
        }
      } else if (cache.length(seq) > 0 && r < 70 && cache.length(seq) < 64) {
        tokens[seq].push_back(static_cast<int32_t>(rng() % 67));
        write(seq, tokens[seq], cache.length(seq));
      } else if (cache.length(seq) > 0 && r < 80) {
        const int dst = static_cast<int>(rng() % 6);
        if (cache.length(dst) == 0 && dst != seq) {
          cache.fork(seq, dst);
          tokens[dst] = tokens[seq];
        }
      } else if (cache.length(seq) > 0 && r < 88) {
        const int keep = static_cast<int>(rng() % cache.length(seq));
        cache.truncate(seq, keep);
        tokens[seq].resize(static_cast<size_t>(keep));
      } else {
        cache.free(seq);
        tokens[seq].clear();
      }
    } catch (const KvCacheFull&) {
      ++full;
      if (tokens[seq].size() > static_cast<size_t>(cache.length(seq)))
        tokens[seq].resize(static_cast<size_t>(cache.length(seq)));
    }
    ASSERT_NO_THROW(cache.check_invariants()) << "after op " << op;
  }
  for (int s = 0; s < 6; ++s) cache.free(s);
  cache.check_invariants();
  const KvStats st = cache.stats();
  EXPECT_EQ(st.blocks_used, 0);
  EXPECT_EQ(st.blocks_cached + st.blocks_free, 20);
  EXPECT_GT(full, 0);
  EXPECT_GT(hits, 0);
  EXPECT_GT(st.evictions, 0u);
}

// Chapter 11's followers mirror the leader's block tables by replaying its journal of the
// changes made outside forward(): truncate, fork and match_prefix. The tables (and the free /
// cached counts) must then be equal; a damaged journal is an error, not a crash.
TEST(PagedKvCache, AJournalReplayedOnAnotherCacheGivesTheSameTables) {
  const Model m = tiny_model();
  PagedKvCache leader(m.config, opts(24)), follower(m.config, opts(24));
  std::vector<int32_t> journal;
  leader.set_journal(&journal);
  Transformer lt(m, reference_kernels(), leader), ft(m, reference_kernels(), follower);
  const auto p = prompt_ids(22, 3);
  size_t replayed = 0;
  // Each batch runs on both, after the follower replays what the leader recorded before it.
  auto both = [&](std::span<const int32_t> ids, int from, int seq) {
    follower.replay({journal.data() + replayed, journal.size() - replayed});
    replayed = journal.size();
    feed(lt, ids, from, seq);
    feed(ft, ids, from, seq);
  };
  both(p, 0, 0);
  leader.fork(0, 1);  // recorded
  both(p, 22, 1);     // seq 1 continues: copy-on-write of the shared last block
  leader.truncate(0, 0);
  ASSERT_EQ(leader.match_prefix(2, p), 20);  // 5 whole blocks of 4 cached by seq 0
  both(p, 20, 2);
  follower.replay({journal.data() + replayed, journal.size() - replayed});
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(std::vector<int>(leader.block_table(s).begin(), leader.block_table(s).end()),
              std::vector<int>(follower.block_table(s).begin(), follower.block_table(s).end()))
        << "sequence " << s;
    EXPECT_EQ(leader.length(s), follower.length(s));
  }
  EXPECT_EQ(leader.stats().blocks_free, follower.stats().blocks_free);
  EXPECT_EQ(leader.stats().blocks_cached, follower.stats().blocks_cached);
  follower.check_invariants();
  EXPECT_THROW(follower.replay(std::vector<int32_t>{3, 0}), Error);        // cut short
  EXPECT_THROW(follower.replay(std::vector<int32_t>{9, 0, 0}), Error);     // unknown entry
  EXPECT_THROW(follower.replay(std::vector<int32_t>{3, 0, 1000}), Error);  // more ids than sent
}
