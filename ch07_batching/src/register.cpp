#include "llm/batching/register.h"

#include "llm/quant/quant.h"

namespace llm {

void register_batching(Registry& r) {
  register_quant(r);  // the scheduler adds no kernels
}

}  // namespace llm
