// Kernels — the table of operations the forward pass calls, chosen once at construction.
//
// The model code never branches on hardware. It calls through this table, which
// Kernels::select() fills from the Registry with the best available variant of each op.
// This chapter registers readable scalar references for every op; later chapters register
// faster variants under the same op names and the table picks them up:
//   chapter 6: "matmul/q8_0", "matmul/q4_0", "matmul/q4_1", "matmul/q4_k", "matmul/q6_k" and
//              "to_f32/<quant>" (the codecs) — quantized weights multiplied without being
//              dequantized as a whole;
//   chapter 8: SIMD + OpenMP variants; chapter 9: CUDA.
#pragma once

#include <array>
#include <map>
#include <string>

#include "llm/attention/attention.h"
#include "llm/attention/rope.h"
#include "llm/config/dtype.h"
#include "llm/config/registry.h"
#include "llm/config/tensor.h"

namespace llm {

// y[n][w.rows()] = x[n][w.cols()] · wᵀ: each of n activation rows times every weight row.
// Registered as "matmul/<dtype name>" (e.g. "matmul/f32", "matmul/q4_1").
using MatmulFn = void (*)(const Tensor& w, const float* x, int n, float* y);
// out[i] = x[i] / sqrt(mean(x²) + eps) · weight[i]   ("rmsnorm")
using RmsNormFn = void (*)(float* out, const float* x, const float* weight, int n, float eps);
// gate[i] = silu(gate[i]) · up[i], one row at a time   ("silu_mul")
using SiluMulFn = void (*)(float* gate, const float* up, int n);
// acc[i] += x[i]                                       ("add")
using AddFn = void (*)(float* acc, const float* x, int n);
// x = softmax(x), numerically stable                   ("softmax")
using SoftmaxFn = void (*)(float* x, int n);

struct Kernels {
  std::array<MatmulFn, kMaxDTypeId> matmul{};  // by weight dtype id; null = unsupported
  std::array<ToF32Fn, kMaxDTypeId> to_f32{};   // row decoders by dtype id (embedding lookup)
  RmsNormFn rmsnorm = nullptr;
  RopeFn rope_interleaved = nullptr;
  RopeFn rope_half_split = nullptr;
  AttentionFn attention = nullptr;
  SiluMulFn silu_mul = nullptr;
  AddFn add = nullptr;
  SoftmaxFn softmax = nullptr;
  std::map<std::string, std::string> chosen;  // op -> variant, for logs and `llm info`

  // The best available variant of every op in the registry. Overrides name a variant
  // explicitly, e.g. {"attention", "plain"} (throws llm::Error if it does not exist).
  static Kernels select(const Registry& r,
                        const std::map<std::string, std::string>& overrides = {});
  MatmulFn matmul_for(DType t) const;  // throws llm::Error naming the dtype if unsupported
  ToF32Fn to_f32_for(DType t) const;
  RopeFn rope_for(RopeLayout layout) const {
    return layout == RopeLayout::Interleaved ? rope_interleaved : rope_half_split;
  }
};

// Reference kernels (plain scalar C++), registered with variant "ref".
void matmul_ref(const Tensor& w, const float* x, int n, float* y);  // f32, f16, bf16 weights
void rmsnorm_ref(float* out, const float* x, const float* weight, int n, float eps);
void silu_mul_ref(float* gate, const float* up, int n);
void add_ref(float* acc, const float* x, int n);
void softmax_ref(float* x, int n);

// The chain: register_attention (chapters 1–3), then this chapter's kernels.
void register_transformer(Registry& r);

}  // namespace llm
