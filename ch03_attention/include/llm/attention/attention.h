// Causal scaled-dot-product attention over keys and values stored as a list of blocks.
//
// The seam of the KV cache: attention never sees how the cache is laid out, only a list of
// blocks, each holding the keys and values of consecutive positions. A contiguous buffer is one
// block (chapter 4's scratch cache); chapter 5's paged cache hands over many. Causality is
// expressed by the caller: a query at position p is given the blocks covering positions 0..p.
//
// Two implementations, registered as op "attention":
//   "plain" — scores for every key, stable softmax, weighted sum of values (the reference)
//   "tiled" — one pass over tiles of keys with an online softmax (FlashAttention's trick):
//             never materialises the score row, so its scratch is independent of the length.
// MHA, GQA and MQA are one code path: query head h reads KV head h / (n_heads / n_kv_heads).
//
// Keys and values are stored as f32 or f16 (half the memory; llama.cpp's default), or in a
// block-quantized dtype whose decoder the block carries (the reference variants then compute in
// f32; faster variants may decline such blocks). With f16
// storage both variants round the query to f16 before the dot products, and "plain" also rounds
// the softmax weights to f16 before weighting the values: that is how llama.cpp's default
// (non-flash) attention computes, and matching its rounding is what keeps greedy ids equal on
// a model whose logits move by tenths when the arithmetic changes.
#pragma once

#include <span>

#include "llm/config/dtype.h"
#include "llm/config/registry.h"
#include "llm/config/thread_pool.h"

namespace llm {

struct KvBlock {
  const void* k =
      nullptr;  // [n_tokens][row_stride]: token t's KV head g at t*row_stride + g*head_dim
  const void* v = nullptr;  // same layout as k
  int n_tokens = 0;
  int row_stride = 0;        // elements between consecutive tokens (>= n_kv_heads * head_dim)
  DType dtype = DType::F32;  // F32 or F16, or another dtype with a decoder:
  // Rows of a block-quantized dtype (chapter 6's q8_0 cache) come with their decoder:
  // decode(p, out, n) turns the n values stored at p (whole blocks of the dtype) into floats.
  void (*decode)(const void* p, float* out, int64_t n) = nullptr;
};

struct AttentionShape {
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  // Tokens in the forward pass this query belongs to. Only the f16 path of "plain" looks at
  // it: llama.cpp sums its f16 products in a different order for a prompt (a matrix product,
  // several queries) than for a single decoded token (a dot product per key), and matching
  // its rounding means following both.
  int batch_tokens = 1;
};

// Attends one query token (q: [n_heads][head_dim]) to the first n_keys positions held by
// `blocks`; writes out: [n_heads][head_dim]. `scratch` must hold attention_scratch_floats().
using AttentionFn = void (*)(const float* q, std::span<const KvBlock> blocks, int n_keys,
                             const AttentionShape& shape, float* out, float* scratch);

void attention_plain(const float* q, std::span<const KvBlock> blocks, int n_keys,
                     const AttentionShape& shape, float* out, float* scratch);
void attention_tiled(const float* q, std::span<const KvBlock> blocks, int n_keys,
                     const AttentionShape& shape, float* out, float* scratch);

inline constexpr int kAttentionTile = 64;  // keys per tile in attention_tiled
// Keys per chunk of chapter 8's split reductions: a token's keys are always reduced in chunks
// at these fixed boundaries, whatever else is in the batch, so its result does not depend on
// the batch (up to 4 query heads share a chunk's scores).
inline constexpr int kAttentionChunk = 256;
// Scratch floats any registered attention variant needs for contexts up to max_keys.
inline size_t attention_scratch_floats(int max_keys, int head_dim) {
  const size_t keys = static_cast<size_t>(max_keys > kAttentionTile ? max_keys : kAttentionTile);
  const size_t chunks = keys / kAttentionChunk + 1;
  return keys + 36 * static_cast<size_t>(head_dim) + 2 + 4 * kAttentionChunk +
         4 * chunks * (static_cast<size_t>(head_dim) + 2);
}

// ---- the whole-batch op the forward pass calls once per layer --------------------------------
// One query token's view of the cache: its own sequence's blocks and how many keys it sees
// (its position + 1). Tokens of one batch may belong to different sequences.
struct AttentionJob {
  std::span<const KvBlock> blocks;
  int n_keys = 0;
};
// out[i] = attention(q[i], jobs[i]) for the n query tokens of a forward pass; q and out are
// [n][n_heads * head_dim]. Thread t of ctx may use ctx.thread_scratch(t), which holds at least
// attention_scratch_floats(max keys, head_dim) floats. Returns false when the variant cannot
// handle the case (the backend then runs the reference and counts a fallback).
using AttentionBatchFn = bool (*)(const ExecContext& ctx, const float* q, const AttentionJob* jobs,
                                  int n, const AttentionShape& shape, float* out);

// Registers op "attention" with variants "plain" (the reference, registered first) and
// "tiled", and "rope/interleaved" / "rope/half_split" (rope.h), all whole-batch; calls
// register_tokenizer first (the chain of chapters).
void register_attention(Registry& r);

}  // namespace llm
