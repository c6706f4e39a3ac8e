// Chapter 10 adds file formats, not kernels: its link in the register chain only passes the
// registry on (from chapter 9's register_cuda, which calls chapter 8's register_simd, ...).
#include "llm/loading/register.h"

#include "llm/cuda/register.h"

namespace llm {

void register_loading(Registry& r) {
  register_cuda(r);
}

}  // namespace llm
