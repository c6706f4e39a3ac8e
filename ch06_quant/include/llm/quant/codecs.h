// Codecs: f32 rows to quantized blocks and back, exactly as llama.cpp computes them.
//
// The quantizers are the reference ones llama.cpp's `llama-quantize` runs when it has no
// importance matrix (ggml's quantize_row_*_ref), reproduced float operation by float operation,
// so a tensor quantized here has the same bytes as one quantized by llama.cpp; the tests check
// that against bytes llama.cpp produced. That is why some expressions look oddly specific
// (x·(1/d) rather than x/d, trunc(x + 8.5) rather than round): each one is what ggml does, and
// the library is compiled with -ffp-contract=off so the compiler cannot fuse a multiply-add.
//
// The dequantizers are registered as "to_f32/<type>" (ToF32Fn, chapter 1) and the quantizers as
// "from_f32/<type>" (FromF32Fn). Every function takes n values; n must be a multiple of the
// type's block size (32, or 256 for the K types): callers check it and throw, the codecs assert.
#pragma once

#include <bit>
#include <cassert>
#include <cstdint>

namespace llm {

// Quantizes n floats into n / block_size blocks at dst.
using FromF32Fn = void (*)(const float* src, void* dst, int64_t n);

// ---- 32-value blocks ------------------------------------------------------------------------
// Q8_0: d = amax/127, q = round(x·(1/d)) (ties away from zero).
void quantize_row_q8_0_ref(const float* x, void* y, int64_t n);
// Q4_0: d = (the value of largest magnitude, with its sign)/−8, q = min(15, trunc(x·(1/d) + 8.5)).
void quantize_row_q4_0_ref(const float* x, void* y, int64_t n);
// Q4_1: d = (max − min)/15, m = min, q = min(15, trunc((x − min)·(1/d) + 0.5)).
void quantize_row_q4_1_ref(const float* x, void* y, int64_t n);
// Q8_1 (activations): as Q8_0, plus s = d·Σq.
void quantize_row_q8_1_ref(const float* x, void* y, int64_t n);
// Activations as llama.cpp's x86 build quantizes them at run time (its AVX code, not its
// reference): id = 127/amax and rounding half to even. Rarely a byte differs from the _ref
// quantizers above (which llama-quantize uses for weights); the matmuls use these, since the
// aim is llama.cpp's logits.
void quantize_activation_q8_0(const float* x, void* y, int64_t n);
void quantize_activation_q8_1(const float* x, void* y, int64_t n);

void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);

// ---- 256-value super-blocks (K-quants) ------------------------------------------------------
// Q4_K: per sub-block of 32, a weighted least-squares search for (scale, min); then the 8
// scales and 8 mins are themselves quantized to 6 bits against two fp16 super-scales.
void quantize_row_q4_K_ref(const float* x, void* y, int64_t n);
// Q6_K: per sub-block of 16, a search for the symmetric scale; scales quantized to int8.
void quantize_row_q6_K_ref(const float* x, void* y, int64_t n);
// Q8_K (activations): d = −max/127 where max is the value of largest magnitude (with its sign),
// q = nearest_int(x·(−127/max)), and the sums of each 16 values.
void quantize_row_q8_K_ref(const float* x, void* y, int64_t n);

void dequantize_row_q4_K(const void* x, float* y, int64_t n);
void dequantize_row_q6_K(const void* x, float* y, int64_t n);
void dequantize_row_q8_K(const void* x, float* y, int64_t n);

namespace detail {
// Rounds to the nearest integer, ties to even, for |f| ≤ 4194303: ggml's nearest_int. Adding
// 1.5·2^23 makes the FPU round away every fraction bit, leaving the integer in the low mantissa
// (offset by 2^22, which keeps negative results inside the mantissa too).
inline int nearest_int(float f) {
  assert(f >= -4194303.f && f <= 4194303.f);
  const float biased = f + 12582912.f;
  return static_cast<int>(std::bit_cast<uint32_t>(biased) & 0x007fffffu) - 0x00400000;
}
}  // namespace detail

}  // namespace llm
