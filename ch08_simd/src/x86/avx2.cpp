// AVX2 (+FMA, F16C) leaf kernels, for x86-64 CPUs without AVX-512. Compiled with -mavx2 -mfma
// -mf16c; called only when cpu_features().has_avx2().
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

// ---- row ops and attention, 8 lanes (the AVX-512 file's kernels, narrower) -----------------
namespace {

// e^x, lane for lane chapter 3's exp_approx (ggml_v_expf).
inline __m256 exp8(__m256 x) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
  const __m256 n = _mm256_sub_ps(z, shift);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 big = _mm256_cmp_ps(absn, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  __m256 r = _mm256_fmadd_ps(j, k, k);
  if (_mm256_movemask_ps(big)) {  // near or past the float range: two-step scaling, or saturation
    const __m256i neg = _mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
    const __m256i g = _mm256_and_si256(neg, _mm256_set1_epi32(static_cast<int>(0x82000000u)));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
    const __m256 huge = _mm256_cmp_ps(absn, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    r = _mm256_blendv_ps(r, scaled, big);
    r = _mm256_blendv_ps(r, _mm256_mul_ps(s1, s1), huge);
  }
  return r;
}

inline __m256 load_kv8(const void* base, size_t elem, bool f16) {
  if (f16)
    return _mm256_cvtph_ps(_mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + elem)));
  return _mm256_loadu_ps(static_cast<const float*>(base) + elem);
}

inline void prefetch_row(const void* base, size_t elem, size_t bytes, size_t esz) {
  const char* p = static_cast<const char*>(base) + elem * esz;
  for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

// The sums of four vectors in lanes 0..3.
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

template <int NH>
void scores_heads(const float* q, int head_dim, const void* k, int rows, int row_stride, int head,
                  bool kv_f16, float scale, float* scores, int ld_scores) {
  const size_t esz = kv_f16 ? 2 : 4;
  const __m128 sc = _mm_set1_ps(scale);
  int j = 0;
  for (; j + 4 <= rows; j += 4) {
    for (int r = 0; r < 4; ++r)
      prefetch_row(k, static_cast<size_t>(j + r + 16) * row_stride + head, head_dim * esz, esz);
    __m256 acc[NH][4];
    for (int h = 0; h < NH; ++h)
      for (int r = 0; r < 4; ++r) acc[h][r] = _mm256_setzero_ps();
    for (int c = 0; c < head_dim; c += 8)
      for (int r = 0; r < 4; ++r) {
        const __m256 kv = load_kv8(k, static_cast<size_t>(j + r) * row_stride + head + c, kv_f16);
        for (int h = 0; h < NH; ++h)
          acc[h][r] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * head_dim + c), kv, acc[h][r]);
      }
    for (int h = 0; h < NH; ++h)
      _mm_storeu_ps(scores + h * ld_scores + j,
                    _mm_mul_ps(reduce4(acc[h][0], acc[h][1], acc[h][2], acc[h][3]), sc));
  }
  for (; j < rows; ++j) {
    __m256 acc[NH];
    for (int h = 0; h < NH; ++h) acc[h] = _mm256_setzero_ps();
    for (int c = 0; c < head_dim; c += 8) {
      const __m256 kv = load_kv8(k, static_cast<size_t>(j) * row_stride + head + c, kv_f16);
      for (int h = 0; h < NH; ++h)
        acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * head_dim + c), kv, acc[h]);
    }
    for (int h = 0; h < NH; ++h) scores[h * ld_scores + j] = hsum(acc[h]) * scale;
  }
}

template <int NH>
void values_heads(const float* p, int ld_p, const void* v, int rows, int row_stride, size_t col,
                  bool kv_f16, int nv, float* out, int ld_out) {
  // up to 4 vectors of 8 (32 columns) per pass: NH × 4 accumulators stay in registers
  const size_t esz = kv_f16 ? 2 : 4;
  __m256 acc[NH][4];
  for (int h = 0; h < NH; ++h)
    for (int k = 0; k < 4; ++k) acc[h][k] = _mm256_setzero_ps();
  for (int j = 0; j < rows; ++j) {
    const size_t row = static_cast<size_t>(j) * row_stride + col;
    prefetch_row(v, row + static_cast<size_t>(16) * row_stride, 8 * nv * esz, esz);
    for (int k = 0; k < 4; ++k) {
      if (k >= nv) break;
      const __m256 vv = load_kv8(v, row + 8 * k, kv_f16);
      for (int h = 0; h < NH; ++h)
        acc[h][k] = _mm256_fmadd_ps(_mm256_set1_ps(p[h * ld_p + j]), vv, acc[h][k]);
    }
  }
  for (int h = 0; h < NH; ++h)
    for (int k = 0; k < nv; ++k) {
      float* o = out + h * ld_out + 8 * k;
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[h][k]));
    }
}

}  // namespace

void rmsnorm_avx2(const float* x, const float* weight, int64_t r0, int64_t r1, int64_t dim,
                  float eps, float* out) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    float* o = out + r * dim;
    __m256 ss = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
      const __m256 v = _mm256_loadu_ps(xr + i);
      ss = _mm256_fmadd_ps(v, v, ss);
    }
    float sum = hsum(ss);
    for (int64_t j = i; j < dim; ++j) sum += xr[j] * xr[j];
    const float scale = 1.0f / __builtin_sqrtf(sum / static_cast<float>(dim) + eps);
    const __m256 s = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= dim; i += 8)
      _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), s),
                                            _mm256_loadu_ps(weight + i)));
    for (; i < dim; ++i) o[i] = xr[i] * scale * weight[i];
  }
}

void silu_mul_avx2(float* gate, const float* up, int64_t count) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu =
        _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  if (i < count) {  // the tail through a padded copy, the same polynomial
    float g[8] = {}, u[8] = {};
    for (int64_t j = i; j < count; ++j) {
      g[j - i] = gate[j];
      u[j - i] = up[j];
    }
    silu_mul_avx2(g, u, 8);
    for (int64_t j = i; j < count; ++j) gate[j] = g[j - i];
  }
}

void add_avx2(float* acc, const float* x, int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_loadu_ps(x + i)));
  for (; i < count; ++i) acc[i] += x[i];
}

void attn_scores_avx2(const float* q, int nh, int head_dim, const void* k, int rows, int row_stride,
                      int head, bool kv_f16, float scale, float* scores, int ld_scores) {
  switch (nh) {
    case 4:
      scores_heads<4>(q, head_dim, k, rows, row_stride, head, kv_f16, scale, scores, ld_scores);
      break;
    case 3:
      scores_heads<3>(q, head_dim, k, rows, row_stride, head, kv_f16, scale, scores, ld_scores);
      break;
    case 2:
      scores_heads<2>(q, head_dim, k, rows, row_stride, head, kv_f16, scale, scores, ld_scores);
      break;
    default:
      scores_heads<1>(q, head_dim, k, rows, row_stride, head, kv_f16, scale, scores, ld_scores);
      break;
  }
}

void exp_rows_avx2(float* p, int nh, int n, int ld, float* row_max, float* row_sum) {
  for (int h = 0; h < nh; ++h) {
    float* r = p + h * ld;
    float m = r[0];
    for (int j = 1; j < n; ++j) m = r[j] > m ? r[j] : m;
    const __m256 vm = _mm256_set1_ps(m), tiny = _mm256_set1_ps(0x1p-100f);
    __m256 sum = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(r + i), vm));
      e = _mm256_and_ps(e, _mm256_cmp_ps(e, tiny, _CMP_GE_OQ));  // flush what would be subnormal
      _mm256_storeu_ps(r + i, e);
      sum = _mm256_add_ps(sum, e);
    }
    float total = hsum(sum);
    if (i < n) {
      float t[8];
      for (int j = 0; j < 8; ++j) t[j] = i + j < n ? r[i + j] : m;
      __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(t), vm));
      e = _mm256_and_ps(e, _mm256_cmp_ps(e, tiny, _CMP_GE_OQ));
      _mm256_storeu_ps(t, e);
      for (int j = 0; i + j < n; ++j) {
        r[i + j] = t[j];
        total += t[j];
      }
    }
    row_max[h] = m;
    row_sum[h] = total;
  }
}

void attn_values_avx2(const float* p, int nh, int ld_p, const void* v, int rows, int row_stride,
                      int head, bool kv_f16, int head_dim, float* out, int ld_out) {
  for (int c0 = 0; c0 < head_dim; c0 += 32) {
    const int nv = (head_dim - c0) >= 32 ? 4 : (head_dim - c0) / 8;
    const size_t col = static_cast<size_t>(head) + static_cast<size_t>(c0);
    switch (nh) {
      case 4:
        values_heads<4>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      case 3:
        values_heads<3>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      case 2:
        values_heads<2>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      default:
        values_heads<1>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
    }
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
