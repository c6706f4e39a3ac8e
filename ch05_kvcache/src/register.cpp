#include "llm/kvcache/register.h"

#include "llm/transformer/kernels.h"

namespace llm {

void register_kvcache(Registry& r) {
  register_transformer(r);  // the paged KV cache adds no kernels
}

}  // namespace llm
