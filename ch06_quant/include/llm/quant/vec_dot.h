// Quantized dot products: one weight row against one quantized activation row.
//
// llama.cpp never multiplies 4-bit weights by float activations. It first quantizes the
// activation row into the weight type's partner (Q8_0 for Q8_0/Q4_0, Q8_1 for Q4_1, Q8_K for the
// K-quants) and then, block by block, sums integer products exactly and scales the integer sum
// by d_w·d_x once per block. Integer multiply-adds are what SIMD units do fastest (chapter 8's
// AVX2/VNNI kernels plug in under the same names), and computing the same integers with the same
// float operations as llama.cpp's x86 build gives the same logits, hence the same greedy tokens
// (vec_dot.cpp says which order each type follows: the 32-value types llama.cpp's x86 one, the
// K-quants its portable one).
//
// Registered as "vec_dot/<weight>_<activation>" (e.g. "vec_dot/q4_1_q8_1"), variant "ref".
#pragma once

#include <cstdint>

namespace llm {

// Σ_j w_j·x_j over n values: w is a row of weight blocks, x a row of activation blocks.
using VecDotFn = float (*)(const void* w, const void* x, int64_t n);

float vec_dot_q8_0_q8_0(const void* w, const void* x, int64_t n);
float vec_dot_q4_0_q8_0(const void* w, const void* x, int64_t n);
// The same sum in the order of llama.cpp's repacked Q4_0 kernels (one running float per row).
float vec_dot_q4_0_q8_0_serial(const void* w, const void* x, int64_t n);
// Q4_1 has an offset m per block: Σ (q·d + m)·x = d·Σ q·x + m·Σ x, and Σ x is Q8_1's s.
float vec_dot_q4_1_q8_1(const void* w, const void* x, int64_t n);
// Q4_K's mins meet Q8_K's per-16 sums (bsums) the same way.
float vec_dot_q4_K_q8_K(const void* w, const void* x, int64_t n);
float vec_dot_q6_K_q8_K(const void* w, const void* x, int64_t n);

}  // namespace llm
