// Chapter 6's entry points: register the quantized kernels, and convert whole tensors.
//
// register_quant() continues the chain after chapter 4 (chapter 5 adds no kernels): it adds
// "to_f32/<type>" and "from_f32/<type>" codecs, "vec_dot/<w>_<x>" dot products and
// "matmul/<type>" matmuls, all variant "ref", for q8_0, q4_0, q4_1, q4_k and q6_k (plus the
// activation quantizers "from_f32/q8_1" and "from_f32/q8_k"). Kernels::select() then finds a
// matmul for quantized weights with no change to the model code. Chapter 8 plugs in here: its
// register_simd() calls register_quant() and adds faster variants of the same ops.
#pragma once

#include <cstdint>

#include "llm/config/dtype.h"
#include "llm/config/registry.h"
#include "llm/config/tensor.h"

namespace llm {

void register_quant(Registry& r);

// Converts n values of any dtype this engine knows (scalar or quantized) to f32.
void row_to_f32(DType dtype, const void* src, float* dst, int64_t n);

// A new owning tensor of dtype `target` (f32, f16, bf16 or a quantized weight type) with the
// same shape as src, whatever src's dtype: quantized sources are dequantized first. This is
// what `llm quantize` (chapter 10) runs per tensor. Throws llm::Error when the rows cannot be
// split into target's blocks (e.g. 172 columns for a 32-value block type) or target is not a
// storage type.
Tensor quantize_tensor(const Tensor& src, DType target);
// An f32 copy of src (any dtype).
Tensor dequantize_tensor(const Tensor& src);

}  // namespace llm
