// RoPE — rotary position embeddings, in the two layouts people ship.
//
// A query or key head of size hd is rotated pair by pair: pair i turns by the angle
// pos · theta^(−2i/hd). The layouts differ only in which two numbers form pair i:
//   Interleaved (llama2.c, GGUF `llama`, llama.cpp NORM): (x[2i], x[2i+1])
//   HalfSplit   (Hugging Face checkpoints, llama.cpp NEOX): (x[i], x[i + hd/2])
// They are the same rotation once the rows of wq/wk are permuted (see the chapter's test).
#pragma once

#include "llm/config/model_config.h"
#include "llm/config/thread_pool.h"

namespace llm {

// Rotates n_heads consecutive heads of size head_dim in place, for the token at `pos`.
// The angles are built as llama.cpp builds them (theta_i = pos · s^i with s = base^(−2/hd),
// multiplied up one pair at a time in float), so long contexts round the same way.
using RopeFn = void (*)(float* x, int n_heads, int head_dim, int pos, float theta_base);
void rope_interleaved(float* x, int n_heads, int head_dim, int pos, float theta_base);
void rope_half_split(float* x, int n_heads, int head_dim, int pos, float theta_base);

inline RopeFn rope_for(RopeLayout layout) {
  return layout == RopeLayout::Interleaved ? &rope_interleaved : &rope_half_split;
}

// The whole-batch op ("rope/interleaved", "rope/half_split"): rotates the n_heads heads of each
// of n tokens, token i at x + i * row_stride with position pos[i].
using RopeBatchFn = bool (*)(const ExecContext& ctx, float* x, int row_stride, const int32_t* pos,
                             int n, int n_heads, int head_dim, float theta_base);

}  // namespace llm
