// QuantType — everything the engine knows about one quantized weight type, in one row.
//
// A weight type comes with a quantizer and a dequantizer (codecs.h), the activation type its
// matmul quantizes inputs into, and the dot product between the two (vec_dot.h). The reference
// matmul is the same loop for every type, parameterized by this row; register_quant() turns the
// table into registry entries, and chapter 8's SIMD kernels are tested against these functions.
#pragma once

#include <span>

#include "llm/config/dtype.h"
#include "llm/config/registry.h"
#include "llm/config/tensor.h"
#include "llm/quant/codecs.h"
#include "llm/quant/vec_dot.h"
#include "llm/transformer/kernels.h"

namespace llm {

struct QuantType {
  DType weight;                   // Q8_0, Q4_0, Q4_1, Q4_K or Q6_K
  DType activation;               // Q8_0, Q8_1 or Q8_K: what the matmul quantizes x into
  FromF32Fn quantize;             // reference quantizer of the weight type
  ToF32Fn dequantize;             // and its inverse
  FromF32Fn quantize_activation;  // reference quantizer of the activation type
  VecDotFn vec_dot;               // weight row · activation row
  MatmulRowsFn matmul;            // the reference matmul ("matmul/<weight>", variant "ref")
  // The dot product llama.cpp's x86 build uses for matrices it repacks (rows a multiple of 8)
  // when that order differs from vec_dot's; null when it does not repack this type.
  VecDotFn vec_dot_repacked = nullptr;

  // The dot product the reference uses for a matrix of `rows` rows: llama.cpp's repacked order
  // where it would repack the matrix (rows a multiple of 8), else vec_dot.
  VecDotFn dot_for(int64_t rows) const {
    return vec_dot_repacked && rows % 8 == 0 ? vec_dot_repacked : vec_dot;
  }
};

// The quantized weight types, in the order their kernels are registered.
std::span<const QuantType> quant_types();
// The row for a weight type, or nullptr (f32, f16, bf16 and the activation-only types).
const QuantType* find_quant_type(DType weight);

// y[n][w.rows()] = x[n][w.cols()]·wᵀ for quantized w: quantizes each of the n activation rows
// once, then takes vec_dot (vec_dot_repacked for a matrix llama.cpp would repack) of every
// weight row with every activation row. Allocates nothing
// once its thread's activation buffer has grown to the largest n·cols seen. Throws llm::Error
// if w is not of type t.weight or w.cols() is not a multiple of the block size.
void matmul_quantized_ref(const QuantType& t, const Tensor& w, const float* x, int n, float* y);

// matmul_quantized_ref for each type, with MatmulRowsFn's signature.
void matmul_q8_0_ref(const Tensor& w, const float* x, int n, float* y);
void matmul_q4_0_ref(const Tensor& w, const float* x, int n, float* y);
void matmul_q4_1_ref(const Tensor& w, const float* x, int n, float* y);
void matmul_q4_K_ref(const Tensor& w, const float* x, int n, float* y);
void matmul_q6_K_ref(const Tensor& w, const float* x, int n, float* y);

}  // namespace llm
