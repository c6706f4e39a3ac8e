// Private helper shared by the GGUF and safetensors readers.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "llm/config/tensor.h"

namespace llm::detail {

// A zero-copy view of file bytes when they are aligned for their element type (the normal
// case: GGUF aligns to 32 bytes, safetensors writers pad the header to 8). A file may
// legally misalign them (general.alignment = 1, an odd-sized f16 tensor before an f32 one);
// reading a float through a misaligned pointer is undefined behaviour, so such a tensor is
// copied once into owned memory instead.
inline Tensor borrow_aligned(const std::byte* p, DType dtype, Shape shape,
                             std::shared_ptr<const void> owner) {
  const uintptr_t need = dtype == DType::F32 ? 4 : 2;  // f16/bf16 and block scales are 16-bit
  Tensor view = Tensor::borrow(p, dtype, shape, std::move(owner));
  if (reinterpret_cast<uintptr_t>(p) % need == 0) return view;
  Tensor copy = Tensor::zeros(dtype, shape);
  std::memcpy(copy.mutable_data(), p, view.nbytes());
  return copy;
}

}  // namespace llm::detail
