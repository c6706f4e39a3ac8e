// Kernels — the table of whole-batch operations the forward pass calls, chosen once.
//
// Every op takes the whole batch at once (n rows, n tokens), never one token: a GPU backend
// would pay a launch per call, and a threaded one a synchronization. Every op also takes an
// ExecContext (chapter 1): the thread pool it may split its work over and scratch memory sized
// once, so no kernel allocates in the hot loop or keeps a global.
//
// Kernels::select() fills the table from the Registry with the best available variant of each
// op, and keeps the op's reference (its first-registered variant) beside it: a variant may
// decline a case it cannot do (return false; a weight's prepare may decline a shape) and the
// backend then runs the reference and counts a fallback. This chapter registers readable scalar
// references for every op; later chapters register faster variants under the same op names:
//   chapter 6: "matmul/q8_0", "matmul/q4_0", "matmul/q4_1", "matmul/q4_k", "matmul/q6_k" and
//              "to_f32/<quant>" (the codecs) — quantized weights multiplied without being
//              dequantized as a whole;
//   chapter 8: SIMD + threaded variants chosen by CPU features, with weights repacked at load;
//   chapter 9: a CUDA backend (backend.h) with its own kernels.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "llm/attention/attention.h"
#include "llm/attention/rope.h"
#include "llm/config/dtype.h"
#include "llm/config/registry.h"
#include "llm/config/tensor.h"
#include "llm/config/thread_pool.h"

namespace llm {

// ---- matmul: y = x · wᵀ, with each weight prepared once at load ------------------------------

// A weight as the kernel that multiplies it wants it. `tensor` is always the file's tensor (the
// reference reads its bytes); a faster variant may keep its own copy in `packed` — rows
// interleaved in groups, another element type, device memory — built once by its prepare step.
struct PreparedWeight {
  Tensor tensor;
  std::shared_ptr<const std::byte> packed;  // null: the kernel reads `tensor`
  size_t packed_bytes = 0;
};

// One weight of a matmul call and where its output goes: y[n][w.rows()].
struct MatmulJob {
  const PreparedWeight* w = nullptr;
  float* y = nullptr;
};
// y_j[n][rows_j] = x[n][cols] · w_jᵀ for every job j. The jobs share x and its column count
// (q/k/v share one normed input, gate/up another), so a kernel that quantizes activations does
// it once per call, not once per weight. All weights of one call have the same dtype.
using MatmulFn = bool (*)(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x,
                          int n);
// Fills `out` (whose tensor is set) for MatmulFn; false = this variant cannot take the weight.
using PrepareFn = bool (*)(const Tensor& w, PreparedWeight& out);
// What "matmul/<dtype>" registers: the multiply and its optional prepare step.
struct MatmulKernel {
  MatmulFn run = nullptr;
  PrepareFn prepare = nullptr;  // null: the weight is used as the file has it
};

// The per-call form of chapters 4 and 6: y[n][w.rows()] = x[n][w.cols()] · wᵀ.
using MatmulRowsFn = void (*)(const Tensor& w, const float* x, int n, float* y);
// A MatmulFn that runs F once per job on the calling thread.
template <MatmulRowsFn F>
bool matmul_each(const ExecContext&, std::span<const MatmulJob> jobs, const float* x, int n) {
  for (const MatmulJob& j : jobs) F(j.w->tensor, x, n, j.y);
  return true;
}

// ---- the element-wise and row-wise ops, over `rows` rows of `dim` values ----------------------
// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight                       ("rmsnorm")
using RmsNormFn = bool (*)(const ExecContext& ctx, const float* x, const float* weight, int rows,
                           int dim, float eps, float* out);
// gate[r][i] = silu(gate[r][i]) · up[r][i]                               ("silu_mul")
using SiluMulFn = bool (*)(const ExecContext& ctx, float* gate, const float* up, int rows, int dim);
// acc[r][i] += x[r][i]                                                   ("add")
using AddFn = bool (*)(const ExecContext& ctx, float* acc, const float* x, int rows, int dim);

// One op of the table: the chosen variant and the reference it falls back to.
template <class Fn>
struct Op {
  Fn fn{};
  Fn ref{};
  std::string variant;  // the chosen variant's name
};

struct Kernels {
  std::array<Op<MatmulKernel>, kMaxDTypeId> matmul{};  // by weight dtype id; empty = unsupported
  std::array<ToF32Fn, kMaxDTypeId> to_f32{};           // row decoders (embedding lookup)
  Op<RmsNormFn> rmsnorm;
  Op<RopeBatchFn> rope_interleaved, rope_half_split;
  Op<AttentionBatchFn> attention;
  Op<SiluMulFn> silu_mul;
  Op<AddFn> add;
  std::map<std::string, std::string> chosen;  // op -> variant, for logs and `llm info`

  // The best available variant of every op in the registry. Overrides name a variant
  // explicitly, e.g. {"attention", "plain"} (throws llm::Error if it does not exist); the
  // override "*" → "ref" picks the reference of every op.
  static Kernels select(const Registry& r,
                        const std::map<std::string, std::string>& overrides = {});
  // The reference of every op (its first-registered variant): the readable scalar loops the
  // fidelity tests pin to llama.cpp.
  static Kernels reference(const Registry& r) { return select(r, {{"*", "ref"}}); }
  const Op<MatmulKernel>& matmul_for(DType t) const;  // throws llm::Error naming the dtype
  ToF32Fn to_f32_for(DType t) const;
  const Op<RopeBatchFn>& rope_for(RopeLayout layout) const {
    return layout == RopeLayout::Interleaved ? rope_interleaved : rope_half_split;
  }
};

// Reference kernels (plain scalar C++), one row at a time; registered (lifted to whole-batch
// ops) with variant "ref".
void matmul_ref(const Tensor& w, const float* x, int n, float* y);  // f32, f16, bf16 weights
void rmsnorm_ref(float* out, const float* x, const float* weight, int n, float eps);
void silu_mul_ref(float* gate, const float* up, int n);
void add_ref(float* acc, const float* x, int n);
void softmax_ref(float* x, int n);

// The chain: register_attention (chapters 1–3), then this chapter's kernels.
void register_transformer(Registry& r);

}  // namespace llm
