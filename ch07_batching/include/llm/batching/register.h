// register_batching: chapter 07's link in the chain of register functions (see DESIGN.md). It calls
// the previous chapter's and adds what this chapter registers; until the chapter lands it only
// passes the registry on, so the chapters after it never change when it does.
#pragma once

#include "llm/config/registry.h"

namespace llm {

void register_batching(Registry& r);

}  // namespace llm
