// Chapter 8's entry point: SIMD and threaded kernels under the ops of chapters 4 and 6.
//
// register_simd() continues the chain (register_batching → ... → register_quant) and adds, for
// each op, variants built for the instruction sets of this machine's CPU family, each with an
// availability check (cpu_features.h), a rank above the reference, and the reference kept as
// its fallback and its judge (the op-conformance suite runs every variant against it):
//   matmul/q4_0, q4_1, q8_0   "avx512_vnni", "avx2": weights repacked at load into groups of 16
//                             interleaved rows, activations quantized once per call (q/k/v share
//                             one, gate/up another), integer dot products (vpdpbusd), threads
//                             over row groups; one code path for a decoded token and a prompt
//   matmul/q4_k, q6_k         "threaded": the reference dot products, threads over rows
//   matmul/f32, f16, bf16     "avx512", "avx2": widened in registers, fused multiply-adds
//   rmsnorm, silu_mul, add    "avx512": vector loops, threads over rows for a prompt
//   attention                 "avx512": f16/f32 KV, the keys and values of one KV head loaded
//                             once for all its query heads, threads over tokens × KV heads
// Chapter 9 continues the chain from here.
#pragma once

#include "llm/config/registry.h"

namespace llm {

void register_simd(Registry& r);

}  // namespace llm
