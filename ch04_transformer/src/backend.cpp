#include "llm/transformer/backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "llm/config/error.h"

namespace llm {
namespace {
// Adds the wall time of its scope to a counter: ~20 ns a call, a few hundred calls a token.
class Timed {
 public:
  explicit Timed(double& seconds) : seconds_(seconds), t0_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  double& seconds_;
  std::chrono::steady_clock::time_point t0_;
};
}  // namespace

CpuBackend::CpuBackend(Kernels kernels, int n_threads)
    : kernels_(std::move(kernels)), pool_(n_threads) {
  ctx_.pool = &pool_;
}

float* CpuBackend::alloc(size_t n_floats) {
  workspace_.emplace_back();
  auto* p = reinterpret_cast<float*>(workspace_.back().reserve(std::max<size_t>(n_floats, 1) * 4));
  std::memset(p, 0, std::max<size_t>(n_floats, 1) * 4);
  return p;
}

void CpuBackend::reserve(int max_batch, int max_cols, int max_keys, int head_dim) {
  // Per thread: the attention scratch of the longest context. Shared: activations quantized
  // for a matmul (at most 2 bytes per value with their block scales and sums).
  const size_t per_thread = (attention_scratch_floats(max_keys, head_dim) * 4 + 4095) / 4096 * 4096;
  const size_t shared = static_cast<size_t>(max_batch) * static_cast<size_t>(max_cols) * 2 + 4096;
  ctx_.scratch_bytes = std::max(ctx_.scratch_bytes, per_thread);
  ctx_.scratch = scratch_.reserve(ctx_.scratch_bytes * static_cast<size_t>(pool_.size()));
  ctx_.shared_bytes = std::max(ctx_.shared_bytes, shared);
  ctx_.shared = shared_.reserve(ctx_.shared_bytes);
  if (jobs_.size() < static_cast<size_t>(max_batch)) jobs_.resize(static_cast<size_t>(max_batch));
}

const PreparedWeight* CpuBackend::prepare(const Tensor& w) {
  const auto key = std::make_pair(w.data(), static_cast<uint32_t>(w.dtype()));
  if (auto it = prepared_.find(key); it != prepared_.end()) return &it->second;
  const Op<MatmulKernel>& op = kernels_.matmul_for(w.dtype());
  PreparedWeight pw;
  pw.tensor = w;
  if (op.fn.prepare && !op.fn.prepare(w, pw)) {
    pw.packed.reset();  // declined: the reference multiplies this weight
    pw.packed_bytes = 0;
    ++matmul_counters_[static_cast<uint32_t>(w.dtype())].fallbacks;
  }
  return &prepared_.emplace(key, std::move(pw)).first->second;
}

template <class Fn, class... Args>
void CpuBackend::call(OpId id, const Op<Fn>& op, Args... args) {
  ++counters_[id].calls;
  Timed timed(counters_[id].seconds);
  if (op.fn(ctx_, args...)) return;
  ++counters_[id].fallbacks;
  op.ref(ctx_, args...);
}

void CpuBackend::embed(const Tensor& table, const int32_t* tokens, int n, int dim, float* x) {
  ++counters_[kEmbed].calls;
  Timed timed(counters_[kEmbed].seconds);
  const ToF32Fn decode = kernels_.to_f32_for(table.dtype());
  for (int i = 0; i < n; ++i) decode(table.row(tokens[i]), x + static_cast<size_t>(i) * dim, dim);
}

void CpuBackend::rmsnorm(const float* x, const float* weight, int rows, int dim, float eps,
                         float* out) {
  call(kRmsNorm, kernels_.rmsnorm, x, weight, rows, dim, eps, out);
}

void CpuBackend::matmul(std::span<const MatmulJob> jobs, const float* x, int n) {
  // Jobs of one dtype go to their kernel together (they share the quantized input); a weight
  // its kernel declined at prepare time goes to the reference on its own.
  size_t i = 0;
  while (i < jobs.size()) {
    const DType t = jobs[i].w->tensor.dtype();
    const Op<MatmulKernel>& op = kernels_.matmul_for(t);
    Counter& c = matmul_counters_[static_cast<uint32_t>(t)];
    // A kernel with a prepare step declined the weights it left unpacked.
    const auto declined_job = [&](const MatmulJob& job) { return op.fn.prepare && !job.w->packed; };
    const bool declined = declined_job(jobs[i]);
    size_t j = i + 1;
    if (!declined)
      while (j < jobs.size() && jobs[j].w->tensor.dtype() == t && !declined_job(jobs[j])) ++j;
    const auto group = jobs.subspan(i, j - i);
    c.calls += group.size();
    Timed timed(c.seconds);
    if (declined || !op.fn.run(ctx_, group, x, n)) {
      if (!declined) c.fallbacks += group.size();
      op.ref.run(ctx_, group, x, n);
    }
    i = j;
  }
}

void CpuBackend::rope(float* x, int row_stride, const int32_t* pos, int n, int n_heads,
                      int head_dim, float theta, RopeLayout layout) {
  call(kRope, kernels_.rope_for(layout), x, row_stride, pos, n, n_heads, head_dim, theta);
}

void CpuBackend::store_kv(KvCache& cache, int layer, const Batch& batch, const float* k,
                          const float* v) {
  ++counters_[kStoreKv].calls;
  Timed timed(counters_[kStoreKv].seconds);
  const size_t kvd = static_cast<size_t>(cache.kv_dim());
  for (int i = 0; i < batch.size(); ++i)
    cache.store(layer, batch.seq_ids[i], batch.positions[i], k + i * kvd, v + i * kvd);
}

void CpuBackend::attention(KvCache& cache, int layer, const Batch& batch, const float* q,
                           const AttentionShape& shape, float* out) {
  const int n = batch.size();
  if (jobs_.size() < static_cast<size_t>(n)) jobs_.resize(static_cast<size_t>(n));
  // Each token attends to its own sequence's positions 0..pos (causal).
  for (int i = 0; i < n; ++i) {
    const int n_keys = batch.positions[i] + 1;
    jobs_[static_cast<size_t>(i)] = {cache.blocks(layer, batch.seq_ids[i], n_keys), n_keys};
  }
  call(kAttention, kernels_.attention, q, static_cast<const AttentionJob*>(jobs_.data()), n, shape,
       out);
}

void CpuBackend::silu_mul(float* gate, const float* up, int rows, int dim) {
  call(kSiluMul, kernels_.silu_mul, gate, up, rows, dim);
}

void CpuBackend::add(float* acc, const float* x, int rows, int dim) {
  call(kAdd, kernels_.add, acc, x, rows, dim);
}

void CpuBackend::gather_rows(const float* x, const int* rows, int m, int dim, float* out) {
  for (int j = 0; j < m; ++j)
    if (out + static_cast<size_t>(j) * dim != x + static_cast<size_t>(rows[j]) * dim)
      std::memmove(out + static_cast<size_t>(j) * dim, x + static_cast<size_t>(rows[j]) * dim,
                   static_cast<size_t>(dim) * sizeof(float));
}

std::vector<OpStats> CpuBackend::stats() const {
  std::vector<OpStats> out;
  for (uint32_t id = 0; id < kMaxDTypeId; ++id) {
    const Op<MatmulKernel>& op = kernels_.matmul[id];
    const Counter& c = matmul_counters_[id];
    if (!op.fn.run || (c.calls == 0 && c.fallbacks == 0)) continue;
    out.push_back({"matmul/" + std::string(dtype_name(*dtype_from_id(id))), op.variant, c.calls,
                   c.fallbacks, c.seconds});
  }
  const auto add = [&](const char* name, const std::string& variant, OpId id) {
    out.push_back(
        {name, variant, counters_[id].calls, counters_[id].fallbacks, counters_[id].seconds});
  };
  add("embed", "to_f32 rows", kEmbed);
  add("rmsnorm", kernels_.rmsnorm.variant, kRmsNorm);
  add("rope", kernels_.rope_interleaved.variant, kRope);
  add("store_kv", "cache", kStoreKv);
  add("attention", kernels_.attention.variant, kAttention);
  add("silu_mul", kernels_.silu_mul.variant, kSiluMul);
  add("add", kernels_.add.variant, kAdd);
  return out;
}

}  // namespace llm
