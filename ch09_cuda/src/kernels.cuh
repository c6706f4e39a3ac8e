// The chapter's CUDA kernels. Each op keeps its versions side by side, simplest first, the way
// llm.c's dev/cuda keeps kernel1, kernel2, …: read kernel1 to see what the op computes, then
// kernel2 to see what makes it fast. The backend (cuda_backend.cu) launches them.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace llm::cuda::kernels {

// The weight dtypes with kernels here; anything else runs on the CPU fallback.
enum class WType : int { F32, F16, BF16, Q8_0, Q4_0, Q4_1 };

// ---- quantized blocks, as ggml stores them (32 values each) -------------------------------
struct BlockQ8_0 {  // 34 bytes: x = d * q
  __half d;
  int8_t qs[32];
};
struct BlockQ4_0 {  // 18 bytes: x = d * (nibble - 8); low nibbles are values 0..15
  __half d;
  uint8_t qs[16];
};
struct BlockQ4_1 {  // 20 bytes: x = d * nibble + m
  __half d, m;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);

// Element j of a row stored as `t` (the scalar path: kernel1s and the dequantizer).
__device__ __forceinline__ float load(const uint8_t* row, int j, WType t) {
  switch (t) {
    case WType::F32:
      return reinterpret_cast<const float*>(row)[j];
    case WType::F16:
      return __half2float(reinterpret_cast<const __half*>(row)[j]);
    case WType::BF16:
      return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(row)[j]);
    case WType::Q8_0: {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[j / 32];
      return __half2float(b.d) * b.qs[j % 32];
    }
    case WType::Q4_0: {
      const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(row)[j / 32];
      const int k = j % 32;
      const int q = k < 16 ? (b.qs[k] & 0x0F) : (b.qs[k - 16] >> 4);
      return __half2float(b.d) * (q - 8);
    }
    case WType::Q4_1: {
      const BlockQ4_1& b = reinterpret_cast<const BlockQ4_1*>(row)[j / 32];
      const int k = j % 32;
      const int q = k < 16 ? (b.qs[k] & 0x0F) : (b.qs[k - 16] >> 4);
      return __half2float(b.d) * q + __half2float(b.m);
    }
  }
  return 0.0f;
}

__device__ __forceinline__ bool quantized(WType t) {
  return t == WType::Q8_0 || t == WType::Q4_0 || t == WType::Q4_1;
}

// Σ over one quantized block of 32 values × x[0..31], the block decoded once.
__device__ __forceinline__ float block_dot(const uint8_t* row, int b, WType t, const float* x) {
  float s = 0.0f;
  if (t == WType::Q8_0) {
    const BlockQ8_0& q = reinterpret_cast<const BlockQ8_0*>(row)[b];
    for (int k = 0; k < 32; ++k) s += q.qs[k] * x[k];
    return s * __half2float(q.d);
  }
  if (t == WType::Q4_0) {
    const BlockQ4_0& q = reinterpret_cast<const BlockQ4_0*>(row)[b];
    for (int k = 0; k < 16; ++k)
      s += ((q.qs[k] & 0x0F) - 8) * x[k] + ((q.qs[k] >> 4) - 8) * x[k + 16];
    return s * __half2float(q.d);
  }
  const BlockQ4_1& q = reinterpret_cast<const BlockQ4_1*>(row)[b];
  float xs = 0.0f;
  for (int k = 0; k < 16; ++k) {
    s += (q.qs[k] & 0x0F) * x[k] + (q.qs[k] >> 4) * x[k + 16];
    xs += x[k] + x[k + 16];
  }
  return s * __half2float(q.d) + xs * __half2float(q.m);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// ---- embedding: x[i] = table[tokens[i]], decoded ------------------------------------------
__global__ void embed(const uint8_t* table, size_t row_bytes, WType t, const int32_t* tokens,
                      int dim, float* x) {
  const uint8_t* row = table + static_cast<size_t>(tokens[blockIdx.x]) * row_bytes;
  for (int j = threadIdx.x; j < dim; j += blockDim.x)
    x[static_cast<size_t>(blockIdx.x) * dim + j] = load(row, j, t);
}

// ---- RMSNorm: out = x / sqrt(mean(x²) + eps) · w --------------------------------------------
// kernel1: one thread per row, a serial loop — correct, and slow (576 threads for 576 rows at
// best, each reading its row alone).
__global__ void rmsnorm1(const float* x, const float* w, int rows, int dim, float eps, float* out) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* xr = x + static_cast<size_t>(r) * dim;
  float ss = 0.0f;
  for (int j = 0; j < dim; ++j) ss += xr[j] * xr[j];
  const float scale = 1.0f / sqrtf(ss / dim + eps);
  for (int j = 0; j < dim; ++j) out[static_cast<size_t>(r) * dim + j] = xr[j] * scale * w[j];
}

// kernel2: a block per row; the threads read the row together (coalesced) and sum in a tree:
// each warp by shuffles, then the warps' sums through shared memory.
__global__ void rmsnorm2(const float* x, const float* w, int dim, float eps, float* out) {
  __shared__ float warp_sums[32];
  const float* xr = x + static_cast<size_t>(blockIdx.x) * dim;
  float ss = 0.0f;
  for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
  ss = warp_sum(ss);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = ss;
  __syncthreads();
  if (warp == 0) {
    ss = lane < static_cast<int>(blockDim.x / 32) ? warp_sums[lane] : 0.0f;
    ss = warp_sum(ss);
    if (lane == 0) warp_sums[0] = ss;
  }
  __syncthreads();
  const float scale = 1.0f / sqrtf(warp_sums[0] / dim + eps);
  for (int j = threadIdx.x; j < dim; j += blockDim.x)
    out[static_cast<size_t>(blockIdx.x) * dim + j] = xr[j] * scale * w[j];
}

// ---- RoPE: rotate each pair (a, b) of each head by pos · base^(-2i/d) ----------------------
// One thread per (token, head, pair). The angle is built by repeated multiplication, as the
// CPU reference does, so both round alike.
__global__ void rope(float* x, int row_stride, const int32_t* pos, int n, int n_heads,
                     int head_dim, float theta_base, bool interleaved) {
  const int half = head_dim / 2;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= n * n_heads * half) return;
  const int i = idx % half, h = (idx / half) % n_heads, tok = idx / (half * n_heads);
  const float scale = powf(theta_base, -2.0f / static_cast<float>(head_dim));
  float theta = static_cast<float>(pos[tok]);
  for (int k = 0; k < i; ++k) theta *= scale;
  float c, s;
  sincosf(theta, &s, &c);
  float* head = x + static_cast<size_t>(tok) * row_stride + static_cast<size_t>(h) * head_dim;
  float& a = interleaved ? head[2 * i] : head[i];
  float& b = interleaved ? head[2 * i + 1] : head[i + half];
  const float a0 = a, b0 = b;
  a = fmaf(a0, c, -(b0 * s));
  b = fmaf(s, a0, b0 * c);
}

// ---- element-wise ---------------------------------------------------------------------------
__global__ void silu_mul(float* gate, const float* up, size_t n) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    const float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void add(float* acc, const float* x, size_t n) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) acc[i] += x[i];
}

__global__ void gather_rows(const float* x, const int32_t* rows, int dim, float* out) {
  for (int j = threadIdx.x; j < dim; j += blockDim.x)
    out[static_cast<size_t>(blockIdx.x) * dim + j] =
        x[static_cast<size_t>(rows[blockIdx.x]) * dim + j];
}

// ---- matrix × vector(s): y[t][r] = Σ_j w[r][j] · x[t][j], for a few tokens t ---------------
// Decode is bandwidth-bound: each weight byte is read once per step, so the kernel that reads
// them fastest (coalesced, each byte once for all the batch's tokens) wins.
constexpr int kMaxTokens = 8;

// kernel1: one thread per (row, token), dequantizing element by element. Neighbouring threads
// read rows far apart: every load is its own memory transaction.
__global__ void matvec1(const uint8_t* w, size_t row_bytes, WType t, int rows, int cols,
                        const float* x, int n, float* y) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  const int tok = blockIdx.y;
  if (r >= rows || tok >= n) return;
  const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
  const float* xt = x + static_cast<size_t>(tok) * cols;
  float s = 0.0f;
  for (int j = 0; j < cols; ++j) s += load(row, j, t) * xt[j];
  y[static_cast<size_t>(tok) * rows + r] = s;
}

// kernel2: one warp per row. The 32 lanes read consecutive blocks (or elements) of the row —
// coalesced — decode each once and use it for up to kMaxTokens tokens, then sum across the
// warp by shuffles. Each token's sum is formed the same way whatever else is in the batch.
__global__ void matvec2(const uint8_t* w, size_t row_bytes, WType t, int rows, int cols,
                        const float* x, int n, float* y) {
  const int warps = blockDim.x / 32;
  const int r = blockIdx.x * warps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int tok0 = blockIdx.y * kMaxTokens;
  const int nt = min(kMaxTokens, n - tok0);
  if (r >= rows) return;
  const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
  float acc[kMaxTokens];
  for (int k = 0; k < kMaxTokens; ++k) acc[k] = 0.0f;
  if (quantized(t)) {
    for (int b = lane; b < cols / 32; b += 32)
      for (int k = 0; k < nt; ++k)
        acc[k] += block_dot(row, b, t, x + static_cast<size_t>(tok0 + k) * cols + b * 32);
  } else {
    for (int j = lane; j < cols; j += 32) {
      const float wj = load(row, j, t);
      for (int k = 0; k < nt; ++k) acc[k] += wj * x[static_cast<size_t>(tok0 + k) * cols + j];
    }
  }
  for (int k = 0; k < nt; ++k) {
    const float s = warp_sum(acc[k]);
    if (lane == 0) y[static_cast<size_t>(tok0 + k) * rows + r] = s;
  }
}

// ---- prefill: the weight decoded to f32 once per call, then a matrix product ----------------
__global__ void dequantize(const uint8_t* w, size_t row_bytes, WType t, int rows, int cols,
                           float* out) {
  const size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<size_t>(rows) * cols) return;
  const int r = static_cast<int>(idx / cols), j = static_cast<int>(idx % cols);
  out[idx] = load(w + static_cast<size_t>(r) * row_bytes, j, t);
}

// y[n][rows] = x[n][cols] · wᵀ, w f32 [rows][cols].
// gemm1: one thread per output, the whole dot product from global memory.
__global__ void gemm1(const float* x, const float* w, int n, int rows, int cols, float* y) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y;
  if (r >= rows || i >= n) return;
  float s = 0.0f;
  for (int j = 0; j < cols; ++j) s += x[static_cast<size_t>(i) * cols + j] * w[static_cast<size_t>(r) * cols + j];
  y[static_cast<size_t>(i) * rows + r] = s;
}

// gemm2: 16×16 output tiles; each step loads a 16×16 tile of x and of w into shared memory,
// so every value loaded from global memory is used 16 times.
constexpr int kTile = 16;
__global__ void gemm2(const float* x, const float* w, int n, int rows, int cols, float* y) {
  __shared__ float xs[kTile][kTile + 1], ws[kTile][kTile + 1];  // +1: no bank conflicts
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int i = blockIdx.y * kTile + ty;  // token
  const int r = blockIdx.x * kTile + tx;  // output
  const int r_load = blockIdx.x * kTile + ty;
  float s = 0.0f;
  for (int k0 = 0; k0 < cols; k0 += kTile) {
    xs[ty][tx] = i < n && k0 + tx < cols ? x[static_cast<size_t>(i) * cols + k0 + tx] : 0.0f;
    ws[ty][tx] = r_load < rows && k0 + tx < cols ? w[static_cast<size_t>(r_load) * cols + k0 + tx] : 0.0f;
    __syncthreads();
    for (int k = 0; k < kTile; ++k) s += xs[ty][k] * ws[tx][k];
    __syncthreads();
  }
  if (i < n && r < rows) y[static_cast<size_t>(i) * rows + r] = s;
}

// ---- the paged KV cache ----------------------------------------------------------------------
// Pool element (layer, slot) of kv_dim values: pool + (layer_slot0 + slot) * kv_dim, where
// slot = block * block_size + row and layer_slot0 = layer * n_blocks * block_size.
template <class KT>
__device__ __forceinline__ KT to_kv(float v);
template <>
__device__ __forceinline__ float to_kv<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half to_kv<__half>(float v) {
  return __float2half_rn(v);  // round to nearest even, as the CPU cache stores f16
}
__device__ __forceinline__ float from_kv(float v) {
  return v;
}
__device__ __forceinline__ float from_kv(__half v) {
  return __half2float(v);
}

template <class KT>
__global__ void store_kv(const float* k, const float* v, const int32_t* slots, size_t layer_slot0,
                         int kv_dim, KT* kpool, KT* vpool) {
  const size_t dst = (layer_slot0 + static_cast<size_t>(slots[blockIdx.x])) * kv_dim;
  for (int e = threadIdx.x; e < kv_dim; e += blockDim.x) {
    kpool[dst + e] = to_kv<KT>(k[static_cast<size_t>(blockIdx.x) * kv_dim + e]);
    vpool[dst + e] = to_kv<KT>(v[static_cast<size_t>(blockIdx.x) * kv_dim + e]);
  }
}

__device__ __forceinline__ float block_reduce(float v, float* red, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, other) : v + other;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // red may still be read from the previous reduction
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = red[0];
  for (int w = 1; w < warps; ++w) v = is_max ? fmaxf(v, red[w]) : v + red[w];
  return v;
}

// Paged attention, one block per (query token, head): the token's sequence is read through its
// block table — logical block t / block_size of the sequence is physical block table[t / bs].
// Three passes over the keys 0..pos: scores (q·k / sqrt(d)) into a scratch row and their
// maximum; exp(score − max) and their sum; then each thread one output dimension, Σ p·v / sum.
template <class KT>
__global__ void paged_attention(const float* q, int q_stride, const KT* kpool, const KT* vpool,
                                const int32_t* pos, const int32_t* table_offset,
                                const int32_t* tables, size_t layer_slot0, int block_size,
                                int kv_dim, int n_heads, int group, int head_dim, float scale,
                                float* scores, int max_keys, int token0, float* out) {
  extern __shared__ float shared[];
  float* qs = shared;             // head_dim
  float* red = shared + head_dim;  // 32
  const int i = token0 + blockIdx.x, h = blockIdx.y, g = h / group;
  const float* qh = q + static_cast<size_t>(i) * q_stride + static_cast<size_t>(h) * head_dim;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) qs[d] = qh[d];
  __syncthreads();
  const int n_keys = pos[i] + 1;
  const int32_t* table = tables + table_offset[i];
  float* sc = scores + (static_cast<size_t>(blockIdx.x) * n_heads + h) * max_keys;
  auto row = [&](int t) {
    return (layer_slot0 + static_cast<size_t>(table[t / block_size]) * block_size + t % block_size) *
               kv_dim + static_cast<size_t>(g) * head_dim;
  };
  float mx = -INFINITY;
  for (int t = threadIdx.x; t < n_keys; t += blockDim.x) {
    const KT* k = kpool + row(t);
    float s = 0.0f;
    for (int d = 0; d < head_dim; ++d) s += qs[d] * from_kv(k[d]);
    s *= scale;
    sc[t] = s;
    mx = fmaxf(mx, s);
  }
  mx = block_reduce(mx, red, true);
  float sum = 0.0f;
  for (int t = threadIdx.x; t < n_keys; t += blockDim.x) {
    const float e = expf(sc[t] - mx);
    sc[t] = e;
    sum += e;
  }
  sum = block_reduce(sum, red, false);  // its barriers also publish every sc[t]
  float* o = out + static_cast<size_t>(i) * q_stride + static_cast<size_t>(h) * head_dim;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float acc = 0.0f;
    for (int t = 0; t < n_keys; ++t) acc += sc[t] * from_kv(vpool[row(t) + d]);
    o[d] = acc / sum;
  }
}

}  // namespace llm::cuda::kernels
