// Chapter 10 adds file formats, not kernels: its link in the register chain only passes the
// registry on. Chapters 7, 8 and 9 will insert their register_<chapter>() calls here.
#include "llm/loading/register.h"

#include "llm/quant/quant.h"

namespace llm {

void register_loading(Registry& r) {
  register_quant(r);
}

}  // namespace llm
