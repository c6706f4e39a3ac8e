#include "llm/transformer/kernels.h"

#include <cmath>
#include <string>
#include <vector>

#include "llm/attention/exp_approx.h"

namespace llm {

// ---- reference kernels: plain loops, the ground truth every faster variant is tested against

void matmul_ref(const Tensor& w, const float* x, int n, float* y) {
  const int64_t rows = w.rows(), cols = w.cols();
  if (w.dtype() == DType::F32) {
    for (int t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        const float* wr = reinterpret_cast<const float*>(w.row(r));
        const float* xt = x + t * cols;
        float s = 0.0f;
        for (int64_t i = 0; i < cols; ++i) s += wr[i] * xt[i];
        y[t * rows + r] = s;
      }
    return;
  }
  // f16 / bf16: widen one weight row at a time, then the f32 dot.
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    scalar_to_f32(w.dtype(), w.row(r), row.data(), cols);
    for (int t = 0; t < n; ++t) {
      const float* xt = x + t * cols;
      float s = 0.0f;
      for (int64_t i = 0; i < cols; ++i) s += row[static_cast<size_t>(i)] * xt[i];
      y[t * rows + r] = s;
    }
  }
}

void rmsnorm_ref(float* out, const float* x, const float* weight, int n, float eps) {
  // Squares are formed in float and summed in double, exactly as ggml does, so the scale
  // rounds the same way llama.cpp's does.
  double ss = 0.0;
  for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(ss / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void silu_mul_ref(float* gate, const float* up, int n) {
  // ggml's swiglu on x86 takes eight values at a time through its polynomial exp and the last
  // n % 8 through expf(); following that split keeps every value bit-equal to llama.cpp's.
  const int body = n - n % 8;
  for (int i = 0; i < body; ++i) gate[i] = silu_approx(gate[i]) * up[i];
  for (int i = body; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add_ref(float* acc, const float* x, int n) {
  for (int i = 0; i < n; ++i) acc[i] += x[i];
}

void softmax_ref(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

// ---- the table

namespace {
template <class Fn>
Fn pick(const Registry& r, const std::string& op,
        const std::map<std::string, std::string>& overrides,
        std::map<std::string, std::string>& chosen) {
  const KernelEntry* e = nullptr;
  if (auto it = overrides.find(op); it != overrides.end()) {
    e = r.find(op, it->second);
    if (!e) throw Error("no variant '" + it->second + "' of op '" + op + "' is registered");
  } else {
    e = r.best(op);
  }
  if (!e) return nullptr;
  chosen[op] = e->variant;
  return Registry::cast<Fn>(*e);
}
}  // namespace

Kernels Kernels::select(const Registry& r, const std::map<std::string, std::string>& overrides) {
  Kernels k;
  for (uint32_t id = 0; id < kMaxDTypeId; ++id) {
    const auto t = dtype_from_id(id);
    if (!t) continue;
    const std::string name(dtype_name(*t));
    k.matmul[id] = pick<MatmulFn>(r, "matmul/" + name, overrides, k.chosen);
    k.to_f32[id] = pick<ToF32Fn>(r, "to_f32/" + name, overrides, k.chosen);
  }
  k.rmsnorm = pick<RmsNormFn>(r, "rmsnorm", overrides, k.chosen);
  k.rope_interleaved = pick<RopeFn>(r, "rope/interleaved", overrides, k.chosen);
  k.rope_half_split = pick<RopeFn>(r, "rope/half_split", overrides, k.chosen);
  k.attention = pick<AttentionFn>(r, "attention", overrides, k.chosen);
  k.silu_mul = pick<SiluMulFn>(r, "silu_mul", overrides, k.chosen);
  k.add = pick<AddFn>(r, "add", overrides, k.chosen);
  k.softmax = pick<SoftmaxFn>(r, "softmax", overrides, k.chosen);
  if (!k.rmsnorm || !k.rope_interleaved || !k.rope_half_split || !k.attention || !k.silu_mul ||
      !k.add || !k.softmax)
    throw Error(
        "the registry lacks a kernel the forward pass needs (was register_transformer called?)");
  return k;
}

MatmulFn Kernels::matmul_for(DType t) const {
  const auto id = static_cast<uint32_t>(t);
  if (id >= kMaxDTypeId || !matmul[id])
    throw Error("no matmul kernel for " + std::string(dtype_name(t)) +
                " weights (quantized types need chapter 6's kernels)");
  return matmul[id];
}

ToF32Fn Kernels::to_f32_for(DType t) const {
  const auto id = static_cast<uint32_t>(t);
  if (id >= kMaxDTypeId || !to_f32[id])
    throw Error("no decoder for " + std::string(dtype_name(t)) + " tensors");
  return to_f32[id];
}

void register_transformer(Registry& r) {
  register_attention(r);
  for (const char* t : {"f32", "f16", "bf16"})
    r.add({std::string("matmul/") + t, "ref", 0, {}, MatmulFn{&matmul_ref}, "scalar loops"});
  r.add({"rmsnorm", "ref", 0, {}, RmsNormFn{&rmsnorm_ref}, "sum of squares in double"});
  r.add({"silu_mul", "ref", 0, {}, SiluMulFn{&silu_mul_ref}, "x·sigmoid(x)·up"});
  r.add({"add", "ref", 0, {}, AddFn{&add_ref}, "acc += x"});
  r.add({"softmax", "ref", 0, {}, SoftmaxFn{&softmax_ref}, "max-subtracted"});
}

}  // namespace llm
