// The leaf kernels of chapter 8: plain functions over raw pointers, one set per instruction
// set, each compiled in its own files with that set's flags (avx512_*.cpp: -mavx512*, avx2_*.cpp:
// -mavx2). They never touch threads, the registry or the standard library, so nothing compiled
// with AVX-512 can leak into code that runs on a CPU without it (an inline function instantiated
// in such a file could otherwise be the copy the linker keeps). The drivers (matmul_packed.cpp,
// ops.cpp) split the work over threads and call these on ranges.
#pragma once

#include <cstddef>
#include <cstdint>

namespace llm::simd {

inline constexpr int kGroupRows = 16;  // rows interleaved per group of a packed matrix

enum class PackedType : int32_t { Q4_0, Q4_1, Q8_0 };

// A quantized matrix repacked at load: groups of 16 rows; in group g, block b (32 columns)
// holds the 16 rows' fp16 scales d[16], then (Q4_1) their fp16 minimums m[16], then the
// quants as chunks of 4 bytes per row: chunk k is [16 rows][4 bytes], the bytes 4k..4k+3 of
// each row's ggml block (so one 64-byte load feeds one VNNI instruction for 16 rows). Rows
// past the end of the matrix are zero.
struct PackedMatrix {
  const uint8_t* data = nullptr;
  int64_t rows = 0, cols = 0, groups = 0, blocks = 0;  // blocks = cols / 32
  size_t block_bytes = 0;                              // one block of one group
  PackedType type = PackedType::Q4_0;
  size_t group_bytes() const { return block_bytes * static_cast<size_t>(blocks); }
};

// Activations quantized once per matmul call, exactly as llama.cpp's x86 build quantizes them
// (Q8 blocks of 32, d = amax/127 stored in fp16), unpacked for SIMD loads.
struct QuantizedRows {
  const int8_t* qs = nullptr;    // [n][cols]
  const float* d = nullptr;      // [n][blocks] the fp16 scale, widened
  const float* s = nullptr;      // [n][blocks] d·Σq through fp16 (Q8_1's s: Q4_1's offset term)
  const int32_t* sum = nullptr;  // [n][blocks] Σq (Q4_0's −8 and Q8_0's +128 corrections)
  int64_t n = 0, blocks = 0;
};

// y[t * ldy + r] for rows r of groups [g0, g1) and every token t < x.n.
void matmul_packed_avx512(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1,
                          float* y, int64_t ldy);
void matmul_packed_avx2(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1,
                        float* y, int64_t ldy);

// Σ of n floats, read with 512-bit loads (the roofline's streaming read).
double read_sum_avx512(const float* p, int64_t n);
double read_sum_avx2(const float* p, int64_t n);

// Quantizes rows [r0, r1) of x ([n][cols], cols a multiple of 32) into the QuantizedRows arrays:
// the same codes and scales as chapter 6's quantize_activation_q8_1 (checked by the tests).
void quantize_rows_avx512(const float* x, int64_t r0, int64_t r1, int64_t cols, int8_t* qs,
                          float* d, float* s, int32_t* sum);

// K-quant rows · Q8_K activation rows (n a multiple of 256), chapter 6's vec_dot signature.
float vec_dot_q4_K_q8_K_avx512(const void* w, const void* x, int64_t n);
float vec_dot_q6_K_q8_K_avx512(const void* w, const void* x, int64_t n);

// Float weights (dtype 0 = f32, 1 = f16, 2 = bf16), rows [r0, r1): y[t * ldy + r] = w[r] · x[t].
void matmul_float_avx512(int dtype, const uint8_t* w, size_t row_stride, int64_t cols,
                         const float* x, int64_t n, int64_t r0, int64_t r1, float* y, int64_t ldy);
void matmul_float_avx2(int dtype, const uint8_t* w, size_t row_stride, int64_t cols, const float* x,
                       int64_t n, int64_t r0, int64_t r1, float* y, int64_t ldy);

// Row-wise ops on rows [r0, r1) of `dim` values.
void rmsnorm_avx512(const float* x, const float* weight, int64_t r0, int64_t r1, int64_t dim,
                    float eps, float* out);
void silu_mul_avx512(float* gate, const float* up, int64_t count);  // count values
void add_avx512(float* acc, const float* x, int64_t count);
void rmsnorm_avx2(const float* x, const float* weight, int64_t r0, int64_t r1, int64_t dim,
                  float eps, float* out);
void silu_mul_avx2(float* gate, const float* up, int64_t count);
void add_avx2(float* acc, const float* x, int64_t count);

// Attention, in three steps the driver runs block by block over a range of a sequence's keys,
// for nh query heads that share one KV head (GQA: the keys and values are loaded and widened
// once for all of them):
//   scores[h][j] = scale · q[h] · k[j]                   for the rows of one block
//   p[h][j]      = e^(scores[h][j] − max_h), in place    once over the range; max_h and
//                                                        sum_h = Σ_j p[h][j] returned
//   out[h]      += Σ_j p[h][j] · v[j]                     for the rows of one block
// The caller divides by the sum (or merges ranges split over threads: flash-decoding).
// Keys and values are rows of `row_stride` elements, f16 (kv_f16) or f32; `head` is the element
// offset of the KV head inside a row.
void attn_scores_avx512(const float* q, int nh, int head_dim, const void* k, int rows,
                        int row_stride, int head, bool kv_f16, float scale, float* scores,
                        int ld_scores);
void exp_rows_avx512(float* p, int nh, int n, int ld, float* row_max, float* row_sum);
void attn_values_avx512(const float* p, int nh, int ld_p, const void* v, int rows, int row_stride,
                        int head, bool kv_f16, int head_dim, float* out, int ld_out);
// The same three steps on 8 lanes (head_dim a multiple of 8).
void attn_scores_avx2(const float* q, int nh, int head_dim, const void* k, int rows, int row_stride,
                      int head, bool kv_f16, float scale, float* scores, int ld_scores);
void exp_rows_avx2(float* p, int nh, int n, int ld, float* row_max, float* row_sum);
void attn_values_avx2(const float* p, int nh, int ld_p, const void* v, int rows, int row_stride,
                      int head, bool kv_f16, int head_dim, float* out, int ld_out);

}  // namespace llm::simd
