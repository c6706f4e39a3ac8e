#include "llm/cuda/register.h"

#include "llm/simd/simd.h"

namespace llm {

void register_cuda(Registry& r) {
  register_simd(r);  // the CUDA backend is not written yet
}

}  // namespace llm
