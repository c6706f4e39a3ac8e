// Backend — where the forward pass runs: its memory, its weights, its ops.
//
// The model code (transformer.cpp) is written once against this interface. A backend
//   - owns the activation workspace (alloc): host memory here, device memory for chapter 9,
//     a shard for chapter 11;
//   - prepares each weight once at load (prepare): the reference keeps reading the file's
//     bytes, chapter 8 repacks rows into interleaved groups, chapter 9 uploads;
//   - runs each op once per layer for the whole batch, with its thread pool and scratch.
// CpuBackend is the backend of chapters 4–8: a Kernels table (kernels.h) chosen from the
// Registry, a thread pool, and per-op counters of calls and fallbacks (`llm info --kernels`).
// Chapter 9 plugs in here with a CUDA backend that wraps a CpuBackend as its fallback.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llm/config/thread_pool.h"
#include "llm/transformer/batch.h"
#include "llm/transformer/kernels.h"
#include "llm/transformer/kv_cache.h"

namespace llm {

// What `llm info --kernels` prints for one op.
struct OpStats {
  std::string op;       // "matmul/q4_1", "attention", ...
  std::string variant;  // the chosen variant
  uint64_t calls = 0;
  uint64_t fallbacks = 0;  // calls (or prepared weights, for matmuls) the reference ran instead
  double seconds = 0;      // wall time spent in the op
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- load time
  // Workspace of n floats (64-byte aligned), valid as long as the backend.
  virtual float* alloc(size_t n_floats) = 0;
  // Sizes the kernels' scratch for models up to this shape (called by every Transformer).
  virtual void reserve(int max_batch, int max_cols, int max_keys, int head_dim) = 0;
  // The weight in the form its matmul kernel wants, owned by the backend (prepared once per
  // tensor even when several transformers share the backend).
  virtual const PreparedWeight* prepare(const Tensor& w) = 0;

  // ---- the ops, once per layer for the whole batch (n rows of the batch)
  virtual void embed(const Tensor& table, const int32_t* tokens, int n, int dim, float* x) = 0;
  virtual void rmsnorm(const float* x, const float* weight, int rows, int dim, float eps,
                       float* out) = 0;
  virtual void matmul(std::span<const MatmulJob> jobs, const float* x, int n) = 0;
  virtual void rope(float* x, int row_stride, const int32_t* pos, int n, int n_heads, int head_dim,
                    float theta, RopeLayout layout) = 0;
  virtual void store_kv(KvCache& cache, int layer, const Batch& batch, const float* k,
                        const float* v) = 0;
  virtual void attention(KvCache& cache, int layer, const Batch& batch, const float* q,
                         const AttentionShape& shape, float* out) = 0;
  virtual void silu_mul(float* gate, const float* up, int rows, int dim) = 0;
  virtual void add(float* acc, const float* x, int rows, int dim) = 0;
  // out[j] = x[rows[j]] (the rows that want logits)
  virtual void gather_rows(const float* x, const int* rows, int m, int dim, float* out) = 0;
  // n floats of workspace readable on the host (a copy for device memory).
  virtual const float* host_view(const float* p, size_t n) = 0;
  // Copies n host floats into workspace (a test filling a backend's buffers; an upload on a GPU).
  virtual void write(float* dst, const float* host, size_t n) = 0;

  virtual std::vector<OpStats> stats() const = 0;
  virtual int threads() const { return 1; }
};

class CpuBackend final : public Backend {
 public:
  // n_threads: the kernels' thread pool (1 = the calling thread only).
  explicit CpuBackend(Kernels kernels, int n_threads = 1);
  std::string name() const override { return "cpu"; }

  float* alloc(size_t n_floats) override;
  void reserve(int max_batch, int max_cols, int max_keys, int head_dim) override;
  const PreparedWeight* prepare(const Tensor& w) override;

  void embed(const Tensor& table, const int32_t* tokens, int n, int dim, float* x) override;
  void rmsnorm(const float* x, const float* weight, int rows, int dim, float eps,
               float* out) override;
  void matmul(std::span<const MatmulJob> jobs, const float* x, int n) override;
  void rope(float* x, int row_stride, const int32_t* pos, int n, int n_heads, int head_dim,
            float theta, RopeLayout layout) override;
  void store_kv(KvCache& cache, int layer, const Batch& batch, const float* k,
                const float* v) override;
  void attention(KvCache& cache, int layer, const Batch& batch, const float* q,
                 const AttentionShape& shape, float* out) override;
  void silu_mul(float* gate, const float* up, int rows, int dim) override;
  void add(float* acc, const float* x, int rows, int dim) override;
  void gather_rows(const float* x, const int* rows, int m, int dim, float* out) override;
  const float* host_view(const float* p, size_t) override { return p; }
  void write(float* dst, const float* host, size_t n) override { std::copy(host, host + n, dst); }

  std::vector<OpStats> stats() const override;
  int threads() const override { return pool_.size(); }
  const Kernels& kernels() const { return kernels_; }
  ThreadPool& pool() { return pool_; }

 private:
  enum OpId { kEmbed, kRmsNorm, kRope, kStoreKv, kAttention, kSiluMul, kAdd, kNumOps };
  struct Counter {
    uint64_t calls = 0, fallbacks = 0;
    double seconds = 0;
  };
  template <class Fn, class... Args>
  void call(OpId id, const Op<Fn>& op, Args... args);

  Kernels kernels_;
  ThreadPool pool_;
  ExecContext ctx_;
  ScratchArena scratch_, shared_;
  std::vector<ScratchArena> workspace_;
  std::map<std::pair<const void*, uint32_t>, PreparedWeight> prepared_;  // by (data, dtype)
  std::array<Counter, kNumOps> counters_{};
  std::array<Counter, kMaxDTypeId> matmul_counters_{};
  std::vector<AttentionJob> jobs_;  // per query token, sized by reserve()
};

}  // namespace llm
