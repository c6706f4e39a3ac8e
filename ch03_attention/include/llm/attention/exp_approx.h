// exp_approx — the exponential llama.cpp's x86 build evaluates in softmax and SiLU.
//
// ggml does not call expf() in its hot loops: it evaluates exp eight (or sixteen) lanes at a
// time with a short polynomial (ggml_v_expf, from ARM's optimized-routines): split x into
// n·ln2 + b with |b| ≤ ln2/2, approximate e^b − 1 by a degree-5 polynomial, scale by 2^n through
// the exponent bits. Its error is under 2 ulps (1.92 measured), so it differs from expf() in
// the last bit for about half of all inputs — harmless alone, but attention weights and SiLU
// outputs feed quantized matmuls, and one flipped activation code moves the logits by tenths.
// Written here lane by lane with the same fused multiply-adds, it returns exactly what each SIMD
// lane does.
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
