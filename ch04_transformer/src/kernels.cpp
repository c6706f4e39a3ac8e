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

// ---- the references as whole-batch ops: a plain loop over the rows on the calling thread

namespace {

bool rmsnorm_rows(const ExecContext&, const float* x, const float* weight, int rows, int dim,
                  float eps, float* out) {
  for (int r = 0; r < rows; ++r)
    rmsnorm_ref(out + static_cast<size_t>(r) * dim, x + static_cast<size_t>(r) * dim, weight, dim,
                eps);
  return true;
}

bool silu_mul_rows(const ExecContext&, float* gate, const float* up, int rows, int dim) {
  for (int r = 0; r < rows; ++r)
    silu_mul_ref(gate + static_cast<size_t>(r) * dim, up + static_cast<size_t>(r) * dim, dim);
  return true;
}

bool add_rows(const ExecContext&, float* acc, const float* x, int rows, int dim) {
  add_ref(acc, x, rows * dim);
  return true;
}

// ---- the table

// The variant of `op` to use: an explicit override, else the best usable one. The reference is
// the op's first-registered variant.
template <class Fn>
Op<Fn> pick(const Registry& r, const std::string& op,
            const std::map<std::string, std::string>& overrides,
            std::map<std::string, std::string>& chosen) {
  const auto vars = r.variants(op);
  if (vars.empty()) return {};
  const KernelEntry* e = nullptr;
  auto it = overrides.find(op);
  if (it == overrides.end()) it = overrides.find("*");
  if (it != overrides.end() && it->second == "ref" && !r.find(op, "ref")) {
    e = vars.front();  // "ref" for every op: the first-registered variant ("plain" attention)
  } else if (it != overrides.end()) {
    e = r.find(op, it->second);
    if (!e) throw Error("no variant '" + it->second + "' of op '" + op + "' is registered");
    if (!e->usable()) throw Error("variant '" + e->name() + "' needs a CPU feature this one lacks");
  } else {
    e = r.best(op);
  }
  if (!e) return {};
  chosen[op] = e->variant;
  return {Registry::cast<Fn>(*e), Registry::cast<Fn>(*vars.front()), e->variant};
}
}  // namespace

Kernels Kernels::select(const Registry& r, const std::map<std::string, std::string>& overrides) {
  Kernels k;
  for (uint32_t id = 0; id < kMaxDTypeId; ++id) {
    const auto t = dtype_from_id(id);
    if (!t) continue;
    const std::string name(dtype_name(*t));
    k.matmul[id] = pick<MatmulKernel>(r, "matmul/" + name, overrides, k.chosen);
    k.to_f32[id] = pick<ToF32Fn>(r, "to_f32/" + name, overrides, k.chosen).fn;
  }
  k.rmsnorm = pick<RmsNormFn>(r, "rmsnorm", overrides, k.chosen);
  k.rope_interleaved = pick<RopeBatchFn>(r, "rope/interleaved", overrides, k.chosen);
  k.rope_half_split = pick<RopeBatchFn>(r, "rope/half_split", overrides, k.chosen);
  k.attention = pick<AttentionBatchFn>(r, "attention", overrides, k.chosen);
  k.silu_mul = pick<SiluMulFn>(r, "silu_mul", overrides, k.chosen);
  k.add = pick<AddFn>(r, "add", overrides, k.chosen);
  if (!k.rmsnorm.fn || !k.rope_interleaved.fn || !k.rope_half_split.fn || !k.attention.fn ||
      !k.silu_mul.fn || !k.add.fn)
    throw Error(
        "the registry lacks a kernel the forward pass needs (was register_transformer called?)");
  return k;
}

const Op<MatmulKernel>& Kernels::matmul_for(DType t) const {
  const auto id = static_cast<uint32_t>(t);
  if (id >= kMaxDTypeId || !matmul[id].fn.run)
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
    r.add({std::string("matmul/") + t,
           "ref",
           0,
           {},
           MatmulKernel{&matmul_each<&matmul_ref>, nullptr},
           "scalar loops"});
  r.add({"rmsnorm", "ref", 0, {}, RmsNormFn{&rmsnorm_rows}, "sum of squares in double"});
  r.add({"silu_mul", "ref", 0, {}, SiluMulFn{&silu_mul_rows}, "x·sigmoid(x)·up"});
  r.add({"add", "ref", 0, {}, AddFn{&add_rows}, "acc += x"});
}

}  // namespace llm
