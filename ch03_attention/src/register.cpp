#include "llm/attention/attention.h"
#include "llm/attention/rope.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {

void register_attention(Registry& r) {
  register_tokenizer(r);
  r.add({"attention",
         "plain",
         1,
         {},
         AttentionFn{&attention_plain},
         "scores, stable softmax, weighted sum; rounds like llama.cpp (preferred)"});
  r.add({"attention",
         "tiled",
         0,
         {},
         AttentionFn{&attention_tiled},
         "tiles of 64 keys with an online softmax (FlashAttention-style)"});
  r.add({"rope/interleaved", "ref", 0, {}, RopeFn{&rope_interleaved}, "adjacent pairs (NORM)"});
  r.add({"rope/half_split", "ref", 0, {}, RopeFn{&rope_half_split}, "half-split pairs (NEOX)"});
}

}  // namespace llm
