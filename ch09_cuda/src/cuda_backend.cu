// The CUDA backend: chapter 4's Backend on one GPU (see cuda_backend.h for the design).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels.cuh"
#include "llm/config/error.h"
#include "llm/cuda/cuda_backend.h"

namespace llm::cuda {
namespace {

using kernels::WType;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}
void check_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
}
void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLAS: ") + what + " failed (status " + std::to_string(s) + ")");
}
unsigned blocks_for(size_t n, unsigned threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

// The dtypes with kernels here; others fall back to the CPU.
bool wtype_of(DType t, WType& out) {
  switch (t) {
    case DType::F32: out = WType::F32; return true;
    case DType::F16: out = WType::F16; return true;
    case DType::BF16: out = WType::BF16; return true;
    case DType::Q8_0: out = WType::Q8_0; return true;
    case DType::Q4_0: out = WType::Q4_0; return true;
    case DType::Q4_1: out = WType::Q4_1; return true;
    default: return false;
  }
}

// Device memory owned by the backend, freed with it.
struct DeviceBuffer {
  void* p = nullptr;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { check(cudaMalloc(&p, std::max<size_t>(bytes, 1)), "cudaMalloc"); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p, o.p);
    return *this;
  }
  ~DeviceBuffer() {
    if (p) cudaFree(p);
  }
};

// Page-locked host memory, so copies to and from the device run asynchronously.
struct PinnedBuffer {
  void* p = nullptr;
  size_t bytes = 0;
  void grow(size_t need) {
    if (need <= bytes) return;
    if (p) cudaFreeHost(p);
    p = nullptr;
    bytes = std::max(need, 2 * bytes);
    check(cudaMallocHost(&p, bytes), "cudaMallocHost");
  }
  ~PinnedBuffer() {
    if (p) cudaFreeHost(p);
  }
};

class DeviceKvMemory final : public KvPoolMemory {
 public:
  explicit DeviceKvMemory(int device) : device_(device) {}
  std::byte* allocate_zeroed(size_t bytes) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc of the KV pool");
    check(cudaMemset(p, 0, bytes), "cudaMemset");
    return static_cast<std::byte*>(p);
  }
  void release(std::byte* p) override { cudaFree(p); }
  void copy(std::byte* dst, const std::byte* src, size_t bytes) override {
    // The legacy stream: ordered after the backend's (blocking) stream's earlier work.
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "copy of a KV block");
  }
  bool host_accessible() const override { return false; }

 private:
  int device_;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::unique_ptr<Backend> fallback, const CudaOptions& o)
      : fallback_(std::move(fallback)), opt_(o) {
    if (!fallback_) throw Error("the CUDA backend needs a CPU backend to fall back on");
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      cudaGetLastError();
      throw Error("--device cuda: no CUDA GPU is visible here (the CUDA runtime says: " +
                  device_info().why + ")");
    }
    if (o.device < 0 || o.device >= count)
      throw Error("--device cuda: GPU " + std::to_string(o.device) + " requested, " +
                  std::to_string(count) + " visible");
    if (o.rmsnorm < 1 || o.rmsnorm > 2 || o.matvec < 1 || o.matvec > 2 || o.gemm < 0 ||
        o.gemm > 2 || o.matvec_max_tokens < 1)
      throw Error("CUDA options: no such kernel version");
    check(cudaSetDevice(o.device), "cudaSetDevice");
    check(cudaStreamCreate(&stream_), "cudaStreamCreate");  // blocking: ordered with copies
    check_blas(cublasCreate(&blas_), "cublasCreate");
    check_blas(cublasSetStream(blas_, stream_), "cublasSetStream");
  }
  ~CudaBackend() override {
    cudaStreamSynchronize(stream_);
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda"; }
  int threads() const override { return fallback_->threads(); }

  float* alloc(size_t n) override {
    device();
    buffers_.emplace_back(n * sizeof(float));
    return static_cast<float*>(buffers_.back().p);
  }

  void reserve(int max_batch, int max_cols, int max_keys, int head_dim) override {
    fallback_->reserve(max_batch, max_cols, max_keys, head_dim);
    max_batch_ = std::max(max_batch_, max_batch);
    // Attention scores: a row of max_keys per (token, head) of one chunk of tokens.
    const size_t heads = static_cast<size_t>(std::max(1, max_cols / std::max(1, head_dim)));
    const size_t want = static_cast<size_t>(kAttentionChunk) * heads * static_cast<size_t>(max_keys);
    if (want > scores_floats_) {
      device();
      scores_ = DeviceBuffer(want * sizeof(float));
      scores_floats_ = want;
    }
    max_keys_ = std::max(max_keys_, max_keys);
    host_x_.reserve(static_cast<size_t>(max_batch) * max_cols);
  }

  // Uploads the weight once (its bytes as they are: quantized blocks stay quantized); a dtype
  // without a kernel is prepared by the fallback instead.
  const PreparedWeight* prepare(const Tensor& w) override {
    const auto key = std::make_pair(w.data(), static_cast<uint32_t>(w.dtype()));
    if (auto it = weights_.find(key); it != weights_.end()) return &it->second->pw;
    auto e = std::make_unique<Weight>();
    e->pw.tensor = w;
    if (wtype_of(w.dtype(), e->type)) {
      device();
      e->data = DeviceBuffer(w.nbytes());
      check(cudaMemcpy(e->data.p, w.data(), w.nbytes(), cudaMemcpyHostToDevice), "upload of a weight");
      uploaded_bytes_ += w.nbytes();
    } else {
      e->cpu = fallback_->prepare(w);
    }
    Weight* raw = e.get();
    weights_.emplace(key, std::move(e));
    by_prepared_[&raw->pw] = raw;
    return &raw->pw;
  }

  // The first op of every forward pass: the point where the previous pass's copies are done
  // with the staging memory (it ended with host_view, or this waits for it).
  void embed(const Tensor& table, const int32_t* tokens, int n, int dim, float* x) override {
    device();
    begin_pass();
    const Weight& w = *by_prepared_.at(prepare(table));
    if (w.cpu) {
      count(kEmbed, true);
      host_x_.resize(static_cast<size_t>(n) * dim);
      fallback_->embed(table, tokens, n, dim, host_x_.data());
      check(cudaMemcpyAsync(x, host_x_.data(), host_x_.size() * sizeof(float),
                            cudaMemcpyHostToDevice, stream_),
            "upload");
      check(cudaStreamSynchronize(stream_), "sync");
      return;
    }
    count(kEmbed, false);
    const int32_t* d_tokens = upload(tokens, static_cast<size_t>(n));
    kernels::embed<<<n, 128, 0, stream_>>>(static_cast<const uint8_t*>(w.data.p),
                                           w.pw.tensor.row_stride(), w.type, d_tokens, dim, x);
    check_launch("embed");
  }

  void rmsnorm(const float* x, const float* weight, int rows, int dim, float eps,
               float* out) override {
    count(kRmsNorm, false);
    const float* w = device_copy(weight, static_cast<size_t>(dim) * sizeof(float));
    if (opt_.rmsnorm == 1)
      kernels::rmsnorm1<<<blocks_for(rows, 64), 64, 0, stream_>>>(x, w, rows, dim, eps, out);
    else
      kernels::rmsnorm2<<<rows, 256, 0, stream_>>>(x, w, dim, eps, out);
    check_launch("rmsnorm");
  }

  void matmul(std::span<const MatmulJob> jobs, const float* x, int n) override {
    for (const MatmulJob& job : jobs) {
      const Weight& w = *by_prepared_.at(job.w);
      const int rows = static_cast<int>(w.pw.tensor.rows()), cols = static_cast<int>(w.pw.tensor.cols());
      Counter& c = matmul_counters_[static_cast<size_t>(w.pw.tensor.dtype())];
      ++c.calls;
      if (w.cpu) {  // no kernel for this dtype: through the CPU, and counted
        ++c.fallbacks;
        host_x_.resize(static_cast<size_t>(n) * cols);
        host_y_.resize(static_cast<size_t>(n) * rows);
        check(cudaMemcpyAsync(host_x_.data(), x, host_x_.size() * sizeof(float),
                              cudaMemcpyDeviceToHost, stream_),
              "download");
        check(cudaStreamSynchronize(stream_), "sync");
        const MatmulJob host_job{w.cpu, host_y_.data()};
        fallback_->matmul({&host_job, 1}, host_x_.data(), n);
        check(cudaMemcpy(job.y, host_y_.data(), host_y_.size() * sizeof(float), cudaMemcpyHostToDevice),
              "upload");
        continue;
      }
      const auto* wd = static_cast<const uint8_t*>(w.data.p);
      const size_t stride = w.pw.tensor.row_stride();
      if (n <= opt_.matvec_max_tokens || opt_.batch_invariant) {
        if (opt_.matvec == 1) {
          kernels::matvec1<<<dim3(blocks_for(rows, 128), n), 128, 0, stream_>>>(
              wd, stride, w.type, rows, cols, x, n, job.y);
        } else {
          const unsigned warps = 4;  // rows per block
          const dim3 grid(blocks_for(rows, warps), blocks_for(n, kernels::kMaxTokens));
          kernels::matvec2<<<grid, 32 * warps, 0, stream_>>>(wd, stride, w.type, rows, cols, x, n,
                                                             job.y);
        }
        check_launch("matvec");
        continue;
      }
      // Prefill: decode the weight to f32 once for the whole batch, then a matrix product.
      const float* w32 = dequantized(w, rows, cols);
      if (opt_.gemm == 0) {
        // Row-major y[n][rows] = x[n][cols] · wᵀ is, column-major, yᵀ = w · xᵀ: cuBLAS sees
        // w (cols × rows, column-major) transposed, and x (cols × n) as it is.
        const float one = 1.0f, zero = 0.0f;
        check_blas(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols, &one, w32, cols, x,
                               cols, &zero, job.y, rows),
                   "cublasSgemm");
      } else if (opt_.gemm == 1) {
        kernels::gemm1<<<dim3(blocks_for(rows, 128), n), 128, 0, stream_>>>(x, w32, n, rows, cols, job.y);
        check_launch("gemm1");
      } else {
        const dim3 grid(blocks_for(rows, kernels::kTile), blocks_for(n, kernels::kTile));
        kernels::gemm2<<<grid, dim3(kernels::kTile, kernels::kTile), 0, stream_>>>(x, w32, n, rows,
                                                                                  cols, job.y);
        check_launch("gemm2");
      }
    }
  }

  void rope(float* x, int row_stride, const int32_t* pos, int n, int n_heads, int head_dim,
            float theta, RopeLayout layout) override {
    count(kRope, false);
    const int32_t* d_pos = positions(pos, n);
    const size_t threads = static_cast<size_t>(n) * n_heads * (head_dim / 2);
    kernels::rope<<<blocks_for(threads, 128), 128, 0, stream_>>>(
        x, row_stride, d_pos, n, n_heads, head_dim, theta, layout == RopeLayout::Interleaved);
    check_launch("rope");
  }

  void store_kv(KvCache& cache, int layer, const Batch& batch, const float* k,
                const float* v) override {
    count(kStoreKv, false);
    const Pool& p = pool(cache, batch);
    const int n = batch.size();
    const size_t layer_slot0 = static_cast<size_t>(layer) * p.layout.n_blocks * p.layout.block_size;
    if (p.layout.dtype == DType::F16)
      kernels::store_kv<<<n, 128, 0, stream_>>>(k, v, meta_.slots, layer_slot0, p.kv_dim,
                                                 reinterpret_cast<__half*>(p.layout.k),
                                                 reinterpret_cast<__half*>(p.layout.v));
    else
      kernels::store_kv<<<n, 128, 0, stream_>>>(k, v, meta_.slots, layer_slot0, p.kv_dim,
                                                 reinterpret_cast<float*>(p.layout.k),
                                                 reinterpret_cast<float*>(p.layout.v));
    check_launch("store_kv");
  }

  void attention(KvCache& cache, int layer, const Batch& batch, const float* q,
                 const AttentionShape& shape, float* out) override {
    count(kAttention, false);
    const Pool& p = pool(cache, batch);
    const int n = batch.size();
    if (max_keys_ > 0 && cache.max_tokens() > max_keys_)
      throw Error("CUDA attention: the cache holds more positions than reserve() was told");
    const size_t layer_slot0 = static_cast<size_t>(layer) * p.layout.n_blocks * p.layout.block_size;
    const int q_stride = shape.n_heads * shape.head_dim;
    const float scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
    const int group = shape.n_heads / shape.n_kv_heads;
    const size_t shared = (static_cast<size_t>(shape.head_dim) + 32) * sizeof(float);
    for (int t0 = 0; t0 < n; t0 += kAttentionChunk) {
      const dim3 grid(std::min(kAttentionChunk, n - t0), shape.n_heads);
      if (p.layout.dtype == DType::F16)
        kernels::paged_attention<<<grid, 128, shared, stream_>>>(
            q, q_stride, reinterpret_cast<const __half*>(p.layout.k),
            reinterpret_cast<const __half*>(p.layout.v), meta_.pos, meta_.table_offset,
            meta_.tables, layer_slot0, p.layout.block_size, p.kv_dim, shape.n_heads, group,
            shape.head_dim, scale, static_cast<float*>(scores_.p), max_keys_, t0, out);
      else
        kernels::paged_attention<<<grid, 128, shared, stream_>>>(
            q, q_stride, reinterpret_cast<const float*>(p.layout.k),
            reinterpret_cast<const float*>(p.layout.v), meta_.pos, meta_.table_offset,
            meta_.tables, layer_slot0, p.layout.block_size, p.kv_dim, shape.n_heads, group,
            shape.head_dim, scale, static_cast<float*>(scores_.p), max_keys_, t0, out);
      check_launch("paged_attention");
    }
  }

  void silu_mul(float* gate, const float* up, int rows, int dim) override {
    count(kSiluMul, false);
    const size_t n = static_cast<size_t>(rows) * dim;
    kernels::silu_mul<<<blocks_for(n, 256), 256, 0, stream_>>>(gate, up, n);
    check_launch("silu_mul");
  }

  void add(float* acc, const float* x, int rows, int dim) override {
    count(kAdd, false);
    const size_t n = static_cast<size_t>(rows) * dim;
    kernels::add<<<blocks_for(n, 256), 256, 0, stream_>>>(acc, x, n);
    check_launch("add");
  }

  void gather_rows(const float* x, const int* rows, int m, int dim, float* out) override {
    const int32_t* d_rows = upload(rows, static_cast<size_t>(m));
    kernels::gather_rows<<<m, 128, 0, stream_>>>(x, d_rows, dim, out);
    check_launch("gather_rows");
  }

  // A copy in page-locked memory, valid until the next call: the end of a forward pass.
  const float* host_view(const float* p, size_t n) override {
    view_.grow(n * sizeof(float));
    check(cudaMemcpyAsync(view_.p, p, n * sizeof(float), cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "the forward pass");
    return static_cast<const float*>(view_.p);
  }

  void write(float* dst, const float* host, size_t n) override {
    check(cudaMemcpy(dst, host, n * sizeof(float), cudaMemcpyHostToDevice), "upload");
  }

  std::vector<OpStats> stats() const override {
    static const char* const names[] = {"embed", "rmsnorm", "rope", "store_kv", "attention",
                                        "silu_mul", "add"};
    const std::string versions[] = {"kernel", "kernel" + std::to_string(opt_.rmsnorm), "kernel",
                                    "kernel", "paged", "kernel", "kernel"};
    std::vector<OpStats> out;
    for (int i = 0; i < kNumOps; ++i)
      out.push_back({names[i], versions[i], counters_[static_cast<size_t>(i)].calls,
                     counters_[static_cast<size_t>(i)].fallbacks, 0.0});
    for (size_t t = 0; t < matmul_counters_.size(); ++t) {
      const Counter& c = matmul_counters_[t];
      if (!c.calls) continue;
      const std::string variant = "matvec" + std::to_string(opt_.matvec) + "+" +
                                  (opt_.gemm == 0 ? "cublas" : "gemm" + std::to_string(opt_.gemm));
      out.push_back({"matmul/" + std::string(dtype_name(static_cast<DType>(t))), variant, c.calls,
                     c.fallbacks, 0.0});
    }
    return out;
  }

 private:
  static constexpr int kAttentionChunk = 64;  // query tokens per attention launch
  enum OpId { kEmbed, kRmsNorm, kRope, kStoreKv, kAttention, kSiluMul, kAdd, kNumOps };
  struct Counter {
    uint64_t calls = 0, fallbacks = 0;
  };
  struct Weight {
    PreparedWeight pw;
    WType type = WType::F32;
    DeviceBuffer data;                     // the tensor's bytes on the device
    const PreparedWeight* cpu = nullptr;  // set when the CPU runs it instead
  };
  // The batch's layout in the paged pool, uploaded once per forward pass.
  struct Pool {
    KvPoolLayout layout;
    int kv_dim = 0;
  };
  struct Meta {
    const int32_t* pos = nullptr;           // per token
    const int32_t* slots = nullptr;         // per token: block * block_size + row of its position
    const int32_t* table_offset = nullptr;  // per token: where its sequence's table starts
    const int32_t* tables = nullptr;        // the batch's sequences' block tables, one after another
    bool pos_ready = false, tables_ready = false;
  };

  void device() { check(cudaSetDevice(opt_.device), "cudaSetDevice"); }
  void count(OpId id, bool fallback) {
    ++counters_[id].calls;
    if (fallback) ++counters_[id].fallbacks;
  }

  // Uploads go through one page-locked staging area, filled from the start at every pass and
  // copied to the same offsets of a device area. Nothing in it is overwritten within a pass.
  void begin_pass() {
    check(cudaStreamSynchronize(stream_), "the previous forward pass");
    retired_.clear();
    staged_ = 0;
    meta_ = {};
  }
  template <class T>
  const T* upload(const T* host, size_t n) {
    size_t at = (staged_ + 15) / 16 * 16;
    const size_t bytes = n * sizeof(T);
    if (at + bytes > staging_.bytes) {
      // Grow (a few times, early). The copies queued from the old area are waited for; the
      // old device area may still be named by this pass's metadata, so it is parked until the
      // pass ends.
      check(cudaStreamSynchronize(stream_), "sync");
      const size_t size = std::max(2 * (at + bytes), size_t{1} << 16);
      PinnedBuffer bigger;
      bigger.grow(size);
      std::swap(staging_.p, bigger.p);
      std::swap(staging_.bytes, bigger.bytes);
      retired_.push_back(std::move(staging_dev_));
      staging_dev_ = DeviceBuffer(staging_.bytes);
      at = 0;
    }
    auto* h = static_cast<std::byte*>(staging_.p) + at;
    std::memcpy(h, host, bytes);
    auto* d = static_cast<std::byte*>(staging_dev_.p) + at;
    check(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, stream_), "upload");
    staged_ = at + bytes;
    return reinterpret_cast<const T*>(d);
  }

  const int32_t* positions(const int32_t* pos, int n) {
    if (!meta_.pos_ready) {
      meta_.pos = upload(pos, static_cast<size_t>(n));
      meta_.pos_ready = true;
    }
    return meta_.pos;
  }

  // The paged cache this backend needs, checked, and the batch's slots and tables: once per
  // pass (its first store_kv or attention), not at every layer.
  const Pool& pool(KvCache& cache, const Batch& batch) {
    if (meta_.tables_ready) return pool_;  // checked and uploaded at this pass's first call
    auto* paged = dynamic_cast<PagedKvCache*>(&cache);
    if (!paged)
      throw Error("the CUDA backend needs chapter 5's paged KV cache with its pool in device "
                  "memory (PagedKvOptions::memory = cuda::make_device_kv_memory())");
    pool_.layout = paged->pool_layout();
    pool_.kv_dim = paged->kv_dim();
    if (pool_.layout.dtype != DType::F16 && pool_.layout.dtype != DType::F32)
      throw Error("the CUDA backend stores KV rows as f16 or f32, not " +
                  std::string(dtype_name(pool_.layout.dtype)) + " (--kv-type)");
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, pool_.layout.k) != cudaSuccess ||
        a.type != cudaMemoryTypeDevice) {
      cudaGetLastError();
      throw Error("the CUDA backend needs the KV pool in device memory "
                  "(PagedKvOptions::memory = cuda::make_device_kv_memory())");
    }
    const int n = batch.size(), bs = pool_.layout.block_size;
    slots_.clear();
    offsets_.clear();
    tables_.clear();
    seq_at_.clear();
    for (int i = 0; i < n; ++i) {
      const int seq = batch.seq_ids[static_cast<size_t>(i)], p = batch.positions[static_cast<size_t>(i)];
      const std::span<const int> table = paged->block_table(seq);
      auto [it, fresh] = seq_at_.try_emplace(seq, static_cast<int32_t>(tables_.size()));
      if (fresh) tables_.insert(tables_.end(), table.begin(), table.end());
      offsets_.push_back(it->second);
      slots_.push_back(table[static_cast<size_t>(p / bs)] * bs + p % bs);
    }
    positions(batch.positions.data(), n);
    meta_.slots = upload(slots_.data(), slots_.size());
    meta_.table_offset = upload(offsets_.data(), offsets_.size());
    meta_.tables = upload(tables_.data(), tables_.size());
    meta_.tables_ready = true;
    return pool_;
  }

  // A device copy of small host data the model keeps (the norms' weights), made once.
  const float* device_copy(const float* host, size_t bytes) {
    auto it = copies_.find(host);
    if (it != copies_.end()) return static_cast<const float*>(it->second.p);
    device();
    DeviceBuffer b(bytes);
    check(cudaMemcpy(b.p, host, bytes, cudaMemcpyHostToDevice), "upload of a norm");
    return static_cast<const float*>(copies_.emplace(host, std::move(b)).first->second.p);
  }

  // The weight decoded to f32 in a scratch area that grows to the largest matrix seen.
  const float* dequantized(const Weight& w, int rows, int cols) {
    const size_t n = static_cast<size_t>(rows) * cols;
    if (w.type == WType::F32) return static_cast<const float*>(w.data.p);
    if (n > dequant_floats_) {
      check(cudaStreamSynchronize(stream_), "sync");  // the old area may still be read
      dequant_ = DeviceBuffer(n * sizeof(float));
      dequant_floats_ = n;
    }
    kernels::dequantize<<<blocks_for(n, 256), 256, 0, stream_>>>(
        static_cast<const uint8_t*>(w.data.p), w.pw.tensor.row_stride(), w.type, rows, cols,
        static_cast<float*>(dequant_.p));
    check_launch("dequantize");
    return static_cast<const float*>(dequant_.p);
  }

  std::unique_ptr<Backend> fallback_;
  CudaOptions opt_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  std::vector<DeviceBuffer> buffers_;  // alloc()'s workspace
  std::map<std::pair<const void*, uint32_t>, std::unique_ptr<Weight>> weights_;
  std::unordered_map<const PreparedWeight*, Weight*> by_prepared_;
  std::unordered_map<const float*, DeviceBuffer> copies_;
  size_t uploaded_bytes_ = 0;
  int max_batch_ = 0, max_keys_ = 0;
  DeviceBuffer scores_, dequant_;
  size_t scores_floats_ = 0, dequant_floats_ = 0;
  PinnedBuffer staging_, view_;
  DeviceBuffer staging_dev_;
  std::vector<DeviceBuffer> retired_;
  size_t staged_ = 0;
  Pool pool_;
  Meta meta_;
  std::vector<int32_t> slots_, offsets_, tables_;
  std::unordered_map<int, int32_t> seq_at_;
  std::vector<float> host_x_, host_y_;
  std::array<Counter, kNumOps> counters_{};
  std::array<Counter, kMaxDTypeId> matmul_counters_{};
};

}  // namespace

std::string DeviceInfo::summary() const {
  if (!built) return "not built";
  if (count == 0) return "built; no GPU visible (" + why + ")";
  return "built; " + std::to_string(count) + " GPU" + (count > 1 ? "s" : "") + ", device 0: " +
         name + " (compute " + std::to_string(major) + "." + std::to_string(minor) + ", " +
         std::to_string(memory_bytes >> 20) + " MiB, " +
         std::to_string(static_cast<int>(peak_gb_per_s)) + " GB/s)";
}

DeviceInfo device_info() {
  DeviceInfo info;
  info.built = true;
  const cudaError_t e = cudaGetDeviceCount(&info.count);
  if (e != cudaSuccess) {
    info.count = 0;
    info.why = cudaGetErrorString(e);
    cudaGetLastError();
    return info;
  }
  if (info.count == 0) {
    info.why = "no device";
    return info;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) {
    info.name = p.name;
    info.memory_bytes = p.totalGlobalMem;
    info.major = p.major;
    info.minor = p.minor;
  }
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) == cudaSuccess)
    info.peak_gb_per_s = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  cudaGetLastError();
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<Backend> fallback,
                                           const CudaOptions& options) {
  return std::make_unique<CudaBackend>(std::move(fallback), options);
}

std::unique_ptr<KvPoolMemory> make_device_kv_memory(int device) {
  const DeviceInfo info = device_info();
  if (info.count == 0)
    throw Error("--device cuda: no CUDA GPU is visible here (the CUDA runtime says: " + info.why +
                ")");
  return std::make_unique<DeviceKvMemory>(device);
}

}  // namespace llm::cuda
