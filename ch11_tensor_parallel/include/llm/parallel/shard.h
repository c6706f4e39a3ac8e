// Sharding a model across ranks, Megatron-style (Shoeybi et al., 2019), at load time.
//
// Each layer has two matmul pairs, and each pair is split so that only one all-reduce is
// needed per pair:
//   attention: Q, K and V split by heads — column-parallel: rank r computes its own heads'
//              queries, keys and values, and attends over its own KV heads (GQA groups stay
//              whole, so the KV heads must divide by the ranks);
//              the output projection wo split by its input columns — row-parallel: each rank
//              multiplies its heads' slice, and the all-reduce sums the partial products.
//   FFN:       gate and up split by rows (column-parallel), silu·mul stays local, down split
//              by its input columns (row-parallel) + all-reduce.
//   classifier: split by vocabulary rows; an all-gather assembles the logits.
// Norms and the token embedding are small and replicated. A rank's KV cache holds only its KV
// heads: the memory of the cache divides by the ranks too.
#pragma once

#include <cstdint>

#include "llm/transformer/model.h"

namespace llm::parallel {

// What rank `rank` of `world` holds: [begin, begin + count) of each split dimension.
struct ShardPlan {
  int rank = 0, world = 1;
  int heads_begin = 0, n_heads = 0;        // query heads
  int kv_heads_begin = 0, n_kv_heads = 0;  // key/value heads
  int64_t hidden_begin = 0, hidden = 0;    // FFN inner rows
  int64_t vocab_begin = 0, vocab = 0;      // classifier rows
};

// The plan for one rank; throws llm::Error, naming the head counts and the rank counts that
// would work, when the model cannot be split `world` ways (for instance 2 ranks of a model
// with 3 KV heads), or when a quantized matrix would be cut inside a block.
ShardPlan plan_shard(const Model& full, int rank, int world);

// Rank `rank`'s model. Column-parallel slices are whole rows and borrow the full model's
// memory (`full` must outlive the shard); row-parallel slices are copied. The shard's config
// has this rank's head counts and FFN width; its vocab_size stays the whole vocabulary.
Model shard_model(const Model& full, const ShardPlan& plan);

// Bytes of weights a rank holds: its shard plus the replicated embedding.
size_t shard_bytes(const Model& shard);

}  // namespace llm::parallel
