// register_loading — chapter 10's link in the register_<chapter>() chain (see registry.h).
// It adds no kernels; it calls the previous chapter's registration so that a program linking
// chapter 10 registers everything before it with one call.
#pragma once

#include "llm/config/registry.h"

namespace llm {

void register_loading(Registry& r);

}  // namespace llm
