#include "llm/attention/attention.h"
#include "llm/attention/rope.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {
namespace {

// The per-token functions of this chapter, lifted to the whole-batch ops the forward pass
// calls: a plain loop over the batch on the calling thread.
template <void (*Attend)(const float*, std::span<const KvBlock>, int, const AttentionShape&, float*,
                         float*)>
bool attention_batch(const ExecContext& ctx, const float* q, const AttentionJob* jobs, int n,
                     const AttentionShape& shape, float* out) {
  const size_t width = static_cast<size_t>(shape.n_heads) * shape.head_dim;
  auto* scratch = reinterpret_cast<float*>(ctx.thread_scratch(0));
  for (int i = 0; i < n; ++i)
    Attend(q + i * width, jobs[i].blocks, jobs[i].n_keys, shape, out + i * width, scratch);
  return true;
}

template <RopeFn Rotate>
bool rope_batch(const ExecContext&, float* x, int row_stride, const int32_t* pos, int n,
                int n_heads, int head_dim, float theta_base) {
  for (int i = 0; i < n; ++i)
    Rotate(x + static_cast<size_t>(i) * row_stride, n_heads, head_dim, pos[i], theta_base);
  return true;
}

}  // namespace

void register_attention(Registry& r) {
  register_tokenizer(r);
  r.add({"attention",
         "plain",
         1,
         {},
         AttentionBatchFn{&attention_batch<&attention_plain>},
         "scores, stable softmax, weighted sum; rounds like llama.cpp (preferred)"});
  r.add({"attention",
         "tiled",
         0,
         {},
         AttentionBatchFn{&attention_batch<&attention_tiled>},
         "tiles of 64 keys with an online softmax (FlashAttention-style)"});
  r.add({"rope/interleaved",
         "ref",
         0,
         {},
         RopeBatchFn{&rope_batch<&rope_interleaved>},
         "adjacent pairs (NORM)"});
  r.add({"rope/half_split",
         "ref",
         0,
         {},
         RopeBatchFn{&rope_batch<&rope_half_split>},
         "half-split pairs (NEOX)"});
}

}  // namespace llm
