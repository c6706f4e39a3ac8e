// exp_approx — the exponential llama.cpp's x86 build evaluates in softmax and SiLU.
//
// ggml's softmax and SwiGLU call expf() only for the last n % 8 values of a row: the rest go
// eight (or sixteen) lanes at a time through a short polynomial (ggml_v_expf, from ARM's
// optimized-routines): split x into n·ln2 + b with |b| ≤ ln2/2, approximate e^b − 1 by a degree-5
// polynomial, scale by 2^n through the exponent bits. Its error is under 2 ulps (1.92 measured), so
// it differs from expf() in the last bit for about half of all inputs — harmless alone, but an
// attention weight is rounded to f16 next, and the attention and SiLU outputs feed matmuls whose
// inputs are quantized to 8 bits: one flipped rounding there moves the logits by tenths. Written
// here lane by lane with the same fused multiply-adds, it returns exactly what each SIMD lane does.
#pragma once

namespace llm {

// e^x as ggml_v_expf computes one lane: within 2 ulps; subnormal below −87.3, 0 from about
// −104, +inf above 88.7.
float exp_approx(float x);

// silu(x) = x / (1 + e^−x), with exp_approx (ggml_v_silu's lane).
inline float silu_approx(float x) {
  return x / (1.0f + exp_approx(-x));
}

}  // namespace llm
