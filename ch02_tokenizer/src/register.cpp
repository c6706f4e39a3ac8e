#include "llm/config/registry.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {

// Tokenizers are not kernels: nothing to add, but the chain must stay whole so that chapter 3's
// register_attention() can call this and reach chapter 1.
void register_tokenizer(Registry& r) {
  register_config(r);
}

}  // namespace llm
