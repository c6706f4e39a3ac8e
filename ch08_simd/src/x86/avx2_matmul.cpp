// AVX2 (+FMA, F16C) leaf kernels for x86-64 CPUs without AVX-512: the matmuls and the
// roofline's read. Compiled with -mavx2 -mfma -mf16c; called only when cpu_features().has_avx2().
//
// The packed matrices are the same as for AVX-512: a 16-row group is two halves of 8 rows
// (bytes 0..31 and 32..63 of each 64-byte chunk), one 256-bit register each. AVX2 has no VNNI:
// u8·s8 products are summed in pairs (vpmaddubsw, 16-bit) and then in fours (vpmaddwd with
// ones), which gives vpdpbusd's lanes. The 16-bit step would overflow for Q8_0's w + 128, so
// Q8_0 moves the sign instead: |w| · (x with w's sign). Each row's sum runs block by block as in
// the AVX-512 kernel, so the two give the same floats, bit for bit.
#include <immintrin.h>

#include "leaf_kernels.h"

namespace llm::simd {
namespace {

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Σ over 4 bytes per 32-bit lane of u8 × s8 (vpdpbusd without VNNI).
inline __m256i dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

template <PackedType P, int T>
void half_tokens(const PackedMatrix& w, const QuantizedRows& x, int64_t g, int half, int64_t t0,
                 float* y, int64_t ldy) {
  const uint8_t* base = w.data + static_cast<size_t>(g) * w.group_bytes();
  const int64_t nb = w.blocks;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[T], accm[T];
  for (int t = 0; t < T; ++t) acc[t] = accm[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = base + static_cast<size_t>(b) * w.block_bytes;
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048 + 64 * half, _MM_HINT_T0);
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
    __m256 mw = _mm256_setzero_ps();
    const uint8_t* qs = blk + 32 + 32 * half;
    if constexpr (P == PackedType::Q4_1) {
      mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32 + 16 * half)));
      qs = blk + 64 + 32 * half;
    }
    for (int t = 0; t < T; ++t) {
      const int64_t row = (t0 + t) * nb + b;
      const int8_t* xq = x.qs + row * 32;
      __m256i isum = _mm256_setzero_si256();
      if constexpr (P == PackedType::Q8_0) {
        for (int k = 0; k < 8; ++k) {
          const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * k));
          isum = _mm256_add_epi32(
              isum, dot4(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(bcast4(xq + 4 * k), wv)));
        }
      } else {
        for (int k = 0; k < 4; ++k) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * k));
          isum = _mm256_add_epi32(isum, dot4(_mm256_and_si256(q, low4), bcast4(xq + 4 * k)));
          isum = _mm256_add_epi32(
              isum, dot4(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), bcast4(xq + 16 + 4 * k)));
        }
        if constexpr (P == PackedType::Q4_0)
          isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(8 * x.sum[row]));
      }
      const __m256 dd = _mm256_mul_ps(dw, _mm256_set1_ps(x.d[row]));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), dd, acc[t]);
      if constexpr (P == PackedType::Q4_1)
        accm[t] = _mm256_add_ps(accm[t], _mm256_mul_ps(mw, _mm256_set1_ps(x.s[row])));
    }
  }
  const int64_t first = g * kGroupRows + 8 * half;
  const int64_t live = w.rows - first;
  for (int t = 0; t < T; ++t) {
    const __m256 r = P == PackedType::Q4_1 ? _mm256_add_ps(acc[t], accm[t]) : acc[t];
    float out[8];
    _mm256_storeu_ps(out, r);
    for (int i = 0; i < 8 && i < live; ++i) y[(t0 + t) * ldy + first + i] = out[i];
  }
}

template <PackedType P>
void matmul_packed(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1, float* y,
                   int64_t ldy) {
  for (int64_t g = g0; g < g1; ++g)
    for (int half = 0; half < 2; ++half) {
      if (g * kGroupRows + 8 * half >= w.rows) break;
      int64_t t = 0;
      for (; t + 2 <= x.n; t += 2) half_tokens<P, 2>(w, x, g, half, t, y, ldy);
      if (t < x.n) half_tokens<P, 1>(w, x, g, half, t, y, ldy);
    }
}

inline __m256 load8(int dtype, const uint8_t* p) {
  if (dtype == 0) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (dtype == 1) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

inline float scalar_weight(int dtype, const uint8_t* p, int64_t c) {
  if (dtype == 0) {
    float f;
    __builtin_memcpy(&f, p + 4 * c, 4);
    return f;
  }
  uint16_t h;
  __builtin_memcpy(&h, p + 2 * c, 2);
  if (dtype == 1) return _cvtsh_ss(h);
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

template <int T>
void float_rows(int dtype, const uint8_t* wr, int64_t cols, const float* x, int64_t t0, float* y,
                int64_t ldy, int64_t r) {
  const size_t esz = dtype == 0 ? 4 : 2;
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    const __m256 wv = load8(dtype, wr + static_cast<size_t>(c) * esz);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (t0 + t) * cols + c), acc[t]);
  }
  for (int t = 0; t < T; ++t) {
    float s = hsum(acc[t]);
    for (int64_t j = c; j < cols; ++j) s += scalar_weight(dtype, wr, j) * x[(t0 + t) * cols + j];
    y[(t0 + t) * ldy + r] = s;
  }
}

}  // namespace

void matmul_packed_avx2(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1,
                        float* y, int64_t ldy) {
  switch (w.type) {
    case PackedType::Q4_0:
      matmul_packed<PackedType::Q4_0>(w, x, g0, g1, y, ldy);
      break;
    case PackedType::Q4_1:
      matmul_packed<PackedType::Q4_1>(w, x, g0, g1, y, ldy);
      break;
    case PackedType::Q8_0:
      matmul_packed<PackedType::Q8_0>(w, x, g0, g1, y, ldy);
      break;
  }
}

void matmul_float_avx2(int dtype, const uint8_t* w, size_t row_stride, int64_t cols, const float* x,
                       int64_t n, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = w + static_cast<size_t>(r) * row_stride;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) float_rows<4>(dtype, wr, cols, x, t, y, ldy, r);
    for (; t < n; ++t) float_rows<1>(dtype, wr, cols, x, t, y, ldy, r);
  }
}

double read_sum_avx2(const float* p, int64_t n) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = _mm256_add_ps(a, _mm256_load_ps(p + i));
    b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
    c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
    d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
  }
  double s = hsum(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  for (; i < n; ++i) s += p[i];
  return s;
}

}  // namespace llm::simd
