// AVX-512 (F, BW, VL, VNNI) leaf kernels: the matmuls, the activation quantizer, the roofline's
// read. Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mf16c; called only
// when cpu_features().has_avx512().
#include <immintrin.h>

#include "leaf_kernels.h"

namespace llm::simd {
namespace {
// ---- quantized matmul over packed row groups -------------------------------------------------
// One VNNI instruction (vpdpbusd) multiplies 64 unsigned bytes by 64 signed bytes and adds each
// run of four products into a 32-bit lane: lane r gets 4 weights of row r times the same 4
// activations (broadcast). Eight of them cover a 32-value block for 16 rows at once.

inline __m512i bcast4(const int8_t* p) {  // 4 activation bytes into every lane
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Integer block sums for 16 rows and one token: Σ_j u_j · x_j, u the unsigned weight bytes.
template <PackedType P>
inline __m512i block_dot(const __m512i* u, const int8_t* xq) {
  if constexpr (P == PackedType::Q8_0) {
    __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
    for (int k = 0; k < 8; k += 2) {
      a = _mm512_dpbusd_epi32(a, u[k], bcast4(xq + 4 * k));
      b = _mm512_dpbusd_epi32(b, u[k + 1], bcast4(xq + 4 * k + 4));
    }
    return _mm512_add_epi32(a, b);
  } else {
    // u[0..3]: low nibbles = values 4k..4k+3; u[4..7]: high nibbles = values 16+4k..
    __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
      a = _mm512_dpbusd_epi32(a, u[k], bcast4(xq + 4 * k));
      b = _mm512_dpbusd_epi32(b, u[k + 4], bcast4(xq + 16 + 4 * k));
    }
    return _mm512_add_epi32(a, b);
  }
}

// T tokens (1..4) against one group of 16 rows: each weight block is loaded and unpacked once
// and meets all T activation rows while in registers. Per row and token the sum runs block by
// block, acc = fma(float(isum), d_w·d_x, acc) (and Q4_1's Σ m·s beside it), whatever T is: a
// token's result does not depend on which tokens share its batch.
template <PackedType P, int T>
void group_tokens(const PackedMatrix& w, const QuantizedRows& x, int64_t g, int64_t t0, float* y,
                  int64_t ldy) {
  const uint8_t* base = w.data + static_cast<size_t>(g) * w.group_bytes();
  const int64_t nb = w.blocks;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc[T], accm[T];
  for (int t = 0; t < T; ++t) acc[t] = accm[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = base + static_cast<size_t>(b) * w.block_bytes;
    // The groups stream from L3 or DRAM: ask for the bytes a few blocks ahead.
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048 + 64, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048 + 128, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048 + 192, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk) + 2048 + 256, _MM_HINT_T0);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    __m512 mw = _mm512_setzero_ps();
    const uint8_t* qs = blk + 32;
    if constexpr (P == PackedType::Q4_1) {
      mw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32)));
      qs = blk + 64;
    }
    __m512i u[8];
    if constexpr (P == PackedType::Q8_0) {
      const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // s8 → u8: w + 128
      for (int k = 0; k < 8; ++k) u[k] = _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * k), flip);
    } else {
      for (int k = 0; k < 4; ++k) {
        const __m512i q = _mm512_loadu_si512(qs + 64 * k);
        u[k] = _mm512_and_si512(q, low4);
        u[k + 4] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
      }
    }
    for (int t = 0; t < T; ++t) {
      const int64_t row = (t0 + t) * nb + b;
      __m512i isum = block_dot<P>(u, x.qs + row * 32);
      if constexpr (P == PackedType::Q4_0)
        isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(8 * x.sum[row]));
      if constexpr (P == PackedType::Q8_0)
        isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(128 * x.sum[row]));
      const __m512 dd = _mm512_mul_ps(dw, _mm512_set1_ps(x.d[row]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), dd, acc[t]);
      if constexpr (P == PackedType::Q4_1)
        accm[t] = _mm512_add_ps(accm[t], _mm512_mul_ps(mw, _mm512_set1_ps(x.s[row])));
    }
  }
  const int64_t live = w.rows - g * kGroupRows;
  const __mmask16 mask =
      live >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << live) - 1u);
  for (int t = 0; t < T; ++t) {
    const __m512 r = P == PackedType::Q4_1 ? _mm512_add_ps(acc[t], accm[t]) : acc[t];
    _mm512_mask_storeu_ps(y + (t0 + t) * ldy + g * kGroupRows, mask, r);
  }
}

template <PackedType P>
void matmul_packed(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1, float* y,
                   int64_t ldy) {
  for (int64_t g = g0; g < g1; ++g) {
    int64_t t = 0;
    for (; t + 8 <= x.n; t += 8) group_tokens<P, 8>(w, x, g, t, y, ldy);
    for (; t + 4 <= x.n; t += 4) group_tokens<P, 4>(w, x, g, t, y, ldy);
    switch (x.n - t) {
      case 3:
        group_tokens<P, 3>(w, x, g, t, y, ldy);
        break;
      case 2:
        group_tokens<P, 2>(w, x, g, t, y, ldy);
        break;
      case 1:
        group_tokens<P, 1>(w, x, g, t, y, ldy);
        break;
      default:
        break;
    }
  }
}

// ---- float weights ----------------------------------------------------------------------------
inline __m512 load16(int dtype, const uint8_t* p) {
  if (dtype == 0) return _mm512_loadu_ps(p);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if (dtype == 1) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __m512 load16_masked(int dtype, const uint8_t* p, int count) {
  const __mmask16 m = static_cast<__mmask16>((1u << count) - 1u);
  if (dtype == 0) return _mm512_maskz_loadu_ps(m, p);
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
  if (dtype == 1) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <int T>
void float_rows(int dtype, const uint8_t* wr, int64_t cols, const float* x, int64_t t0, float* y,
                int64_t ldy, int64_t r) {
  const size_t esz = dtype == 0 ? 4 : 2;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512 wv = load16(dtype, wr + static_cast<size_t>(c) * esz);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (t0 + t) * cols + c), acc[t]);
  }
  if (c < cols) {
    const int rest = static_cast<int>(cols - c);
    const __mmask16 m = static_cast<__mmask16>((1u << rest) - 1u);
    const __m512 wv = load16_masked(dtype, wr + static_cast<size_t>(c) * esz, rest);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + (t0 + t) * cols + c), acc[t]);
  }
  for (int t = 0; t < T; ++t) y[(t0 + t) * ldy + r] = _mm512_reduce_add_ps(acc[t]);
}

}  // namespace

void matmul_packed_avx512(const PackedMatrix& w, const QuantizedRows& x, int64_t g0, int64_t g1,
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

void matmul_float_avx512(int dtype, const uint8_t* w, size_t row_stride, int64_t cols,
                         const float* x, int64_t n, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = w + static_cast<size_t>(r) * row_stride;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) float_rows<4>(dtype, wr, cols, x, t, y, ldy, r);
    for (; t < n; ++t) float_rows<1>(dtype, wr, cols, x, t, y, ldy, r);
  }
}

double read_sum_avx512(const float* p, int64_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a = _mm512_add_ps(a, _mm512_load_ps(p + i));
    b = _mm512_add_ps(b, _mm512_load_ps(p + i + 16));
    c = _mm512_add_ps(c, _mm512_load_ps(p + i + 32));
    d = _mm512_add_ps(d, _mm512_load_ps(p + i + 48));
  }
  double s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
  for (; i < n; ++i) s += p[i];
  return s;
}

void quantize_rows_avx512(const float* x, int64_t r0, int64_t r1, int64_t cols, int8_t* qs,
                          float* d, float* s, int32_t* sum) {
  // Chapter 6's quantize_activation_q8_1, 32 values at a time: d = amax/127 kept in fp16,
  // q = x·(127/amax) rounded half to even, s = d·Σq through fp16.
  const int64_t nb = cols / 32;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + r * cols + b * 32;
      const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
      const float dd = amax / 127.f;
      const float id = amax != 0.0f ? 127.f / amax : 0.0f;
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
      const int64_t at = r * nb + b;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + at * 32), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + at * 32 + 16), _mm512_cvtepi32_epi8(q1));
      const int total = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      const __m128i dh = _mm_cvtps_ph(_mm_set_ss(dd), _MM_FROUND_TO_NEAREST_INT);
      const __m128i sh =
          _mm_cvtps_ph(_mm_set_ss(static_cast<float>(total) * dd), _MM_FROUND_TO_NEAREST_INT);
      d[at] = _mm_cvtss_f32(_mm_cvtph_ps(dh));
      s[at] = _mm_cvtss_f32(_mm_cvtph_ps(sh));
      sum[at] = total;
    }
}

}  // namespace llm::simd
