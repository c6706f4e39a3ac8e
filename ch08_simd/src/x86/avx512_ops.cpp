// AVX-512 (F, BW, VL) leaf kernels: rmsnorm, SiLU·up, add and attention. Compiled with the
// same flags as avx512_matmul.cpp; called only when cpu_features().has_avx512().
#include <immintrin.h>

#include "leaf_kernels.h"

namespace llm::simd {
namespace {

// ---- e^x, lane for lane the polynomial of chapter 3's exp_approx (ggml_v_expf) ----------------
inline __m512 exp16(__m512 x) {
  const __m512 shift = _mm512_set1_ps(0x1.8p23f);
  const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
  const __m512 n = _mm512_sub_ps(z, shift);
  const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                    _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __m512i e = _mm512_slli_epi32(_mm512_castps_si512(z), 23);
  const __m512 k = _mm512_castsi512_ps(_mm512_add_epi32(e, _mm512_castps_si512(_mm512_set1_ps(1))));
  const __m512 u = _mm512_mul_ps(b, b);
  const __m512 j = _mm512_fmadd_ps(
      _mm512_fmadd_ps(
          _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
          _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
      u, _mm512_mul_ps(_mm512_set1_ps(0x1.ffffecp-1f), b));
  const __m512 absn = _mm512_abs_ps(n);
  const __mmask16 big = _mm512_cmp_ps_mask(absn, _mm512_set1_ps(126.0f), _CMP_GT_OQ);
  __m512 r = _mm512_fmadd_ps(j, k, k);
  if (big) {  // near or past the float range: two-step scaling, or saturation
    const __mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512i g = _mm512_maskz_mov_epi32(neg, _mm512_set1_epi32(static_cast<int>(0x82000000u)));
    const __m512 s1 = _mm512_castsi512_ps(_mm512_add_epi32(g, _mm512_set1_epi32(0x7f000000)));
    const __m512 s2 = _mm512_castsi512_ps(_mm512_sub_epi32(e, g));
    const __m512 scaled = _mm512_mul_ps(_mm512_fmadd_ps(s2, j, s2), s1);
    const __mmask16 huge = _mm512_cmp_ps_mask(absn, _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    r = _mm512_mask_mov_ps(r, big, scaled);
    r = _mm512_mask_mov_ps(r, huge, _mm512_mul_ps(s1, s1));
  }
  return r;
}

inline __m512 load_kv16(const void* base, size_t elem, bool f16) {
  if (f16)
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + elem)));
  return _mm512_loadu_ps(static_cast<const float*>(base) + elem);
}

}  // namespace

void rmsnorm_avx512(const float* x, const float* weight, int64_t r0, int64_t r1, int64_t dim,
                    float eps, float* out) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    float* o = out + r * dim;
    __m512 ss = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16) {
      const __m512 v = _mm512_loadu_ps(xr + i);
      ss = _mm512_fmadd_ps(v, v, ss);
    }
    float sum = _mm512_reduce_add_ps(ss);
    for (int64_t j = i; j < dim; ++j) sum += xr[j] * xr[j];
    const float scale = 1.0f / __builtin_sqrtf(sum / static_cast<float>(dim) + eps);
    const __m512 s = _mm512_set1_ps(scale);
    for (i = 0; i + 16 <= dim; i += 16)
      _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(xr + i), s),
                                            _mm512_loadu_ps(weight + i)));
    for (; i < dim; ++i) o[i] = xr[i] * scale * weight[i];
  }
}

void silu_mul_avx512(float* gate, const float* up, int64_t count) {
  const __m512 one = _mm512_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 silu =
        _mm512_div_ps(g, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
  }
  if (i < count) {
    const __mmask16 m = static_cast<__mmask16>((1u << (count - i)) - 1u);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 silu =
        _mm512_div_ps(g, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void add_avx512(float* acc, const float* x, int64_t count) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16)
    _mm512_storeu_ps(acc + i, _mm512_add_ps(_mm512_loadu_ps(acc + i), _mm512_loadu_ps(x + i)));
  for (; i < count; ++i) acc[i] += x[i];
}

namespace {
// NH query heads (1..4) against `rows` keys; the accumulators stay in registers because every
// loop bound is a compile-time constant.
// Prefetches `bytes` bytes from element `elem` of base (a hint: past the end is harmless).
inline void prefetch_row(const void* base, size_t elem, size_t bytes, size_t esz) {
  const char* p = static_cast<const char*>(base) + elem * esz;
  for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

// The sums of four vectors, one per lane of the result (lanes 0..3): two unpack levels inside
// each 128-bit lane, then the four 128-bit lanes added — 13 instructions instead of 4 reductions.
inline __m128 reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  const __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512 u = _mm512_add_ps(
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))),
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))));
  const __m512 v = _mm512_add_ps(u, _mm512_shuffle_f32x4(u, u, 0x4E));
  const __m512 w = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
  return _mm512_castps512_ps128(w);
}

// NH query heads (1..4) against `rows` keys, four keys at a time; the accumulators stay in
// registers because every loop bound is a compile-time constant.
template <int NH>
void scores_heads(const float* q, int head_dim, const void* k, int rows, int row_stride, int head,
                  bool kv_f16, float scale, float* scores, int ld_scores) {
  const __m128 sc = _mm_set1_ps(scale);
  const size_t esz = kv_f16 ? 2 : 4;
  int j = 0;
  for (; j + 4 <= rows; j += 4) {
    // The cache's rows interleave the KV heads: ask for this head's part of rows well ahead.
    for (int r = 0; r < 4; ++r)
      prefetch_row(k, static_cast<size_t>(j + r + 16) * row_stride + head, head_dim * esz, esz);
    __m512 acc[NH][4];
    for (int h = 0; h < NH; ++h)
      for (int r = 0; r < 4; ++r) acc[h][r] = _mm512_setzero_ps();
    for (int c = 0; c < head_dim; c += 16) {
      __m512 qv[NH];
      for (int h = 0; h < NH; ++h) qv[h] = _mm512_loadu_ps(q + h * head_dim + c);
      for (int r = 0; r < 4; ++r) {
        const __m512 kv = load_kv16(k, static_cast<size_t>(j + r) * row_stride + head + c, kv_f16);
        for (int h = 0; h < NH; ++h) acc[h][r] = _mm512_fmadd_ps(qv[h], kv, acc[h][r]);
      }
    }
    for (int h = 0; h < NH; ++h)
      _mm_storeu_ps(scores + h * ld_scores + j,
                    _mm_mul_ps(reduce4(acc[h][0], acc[h][1], acc[h][2], acc[h][3]), sc));
  }
  for (; j < rows; ++j) {
    const size_t row = static_cast<size_t>(j) * row_stride + head;
    __m512 acc[NH];
    for (int h = 0; h < NH; ++h) acc[h] = _mm512_setzero_ps();
    for (int c = 0; c < head_dim; c += 16) {
      const __m512 kv = load_kv16(k, row + c, kv_f16);
      for (int h = 0; h < NH; ++h)
        acc[h] = _mm512_fmadd_ps(_mm512_loadu_ps(q + h * head_dim + c), kv, acc[h]);
    }
    for (int h = 0; h < NH; ++h) scores[h * ld_scores + j] = _mm512_reduce_add_ps(acc[h]) * scale;
  }
}

template <int NH, int NV>
void values_heads(const float* p, int ld_p, const void* v, int rows, int row_stride, size_t col,
                  bool kv_f16, float* out, int ld_out) {
  // The accumulators start from `out`, so keys are summed one after another whatever the
  // pieces (KV blocks) they arrive in: pages and one contiguous block give the same bits.
  __m512 acc[NH][NV];
  for (int h = 0; h < NH; ++h)
    for (int k = 0; k < NV; ++k) acc[h][k] = _mm512_loadu_ps(out + h * ld_out + 16 * k);
  const size_t esz = kv_f16 ? 2 : 4;
  for (int j = 0; j < rows; ++j) {
    const size_t row = static_cast<size_t>(j) * row_stride + col;
    prefetch_row(v, row + static_cast<size_t>(16) * row_stride, 16 * NV * esz, esz);
    __m512 w[NH];
    for (int h = 0; h < NH; ++h) w[h] = _mm512_set1_ps(p[h * ld_p + j]);
    for (int k = 0; k < NV; ++k) {
      const __m512 vv = load_kv16(v, row + 16 * k, kv_f16);
      for (int h = 0; h < NH; ++h) acc[h][k] = _mm512_fmadd_ps(w[h], vv, acc[h][k]);
    }
  }
  for (int h = 0; h < NH; ++h)
    for (int k = 0; k < NV; ++k) {
      float* o = out + h * ld_out + 16 * k;
      _mm512_storeu_ps(o, acc[h][k]);
    }
}

template <int NH>
void values_chunk(const float* p, int ld_p, const void* v, int rows, int row_stride, size_t col,
                  bool kv_f16, int nv, float* out, int ld_out) {
  switch (nv) {
    case 4:
      values_heads<NH, 4>(p, ld_p, v, rows, row_stride, col, kv_f16, out, ld_out);
      break;
    case 3:
      values_heads<NH, 3>(p, ld_p, v, rows, row_stride, col, kv_f16, out, ld_out);
      break;
    case 2:
      values_heads<NH, 2>(p, ld_p, v, rows, row_stride, col, kv_f16, out, ld_out);
      break;
    default:
      values_heads<NH, 1>(p, ld_p, v, rows, row_stride, col, kv_f16, out, ld_out);
      break;
  }
}
}  // namespace

void attn_scores_avx512(const float* q, int nh, int head_dim, const void* k, int rows,
                        int row_stride, int head, bool kv_f16, float scale, float* scores,
                        int ld_scores) {
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

void exp_rows_avx512(float* p, int nh, int n, int ld, float* row_max, float* row_sum) {
  // Weights below 2^-100 of the largest are set to 0: they add nothing, and as subnormals they
  // would cost a microcode assist per multiply downstream.
  const __m512 tiny = _mm512_set1_ps(0x1p-100f);
  for (int h = 0; h < nh; ++h) {
    float* r = p + h * ld;
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    int i = 0;
    for (; i + 16 <= n; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(r + i));
    float m = _mm512_reduce_max_ps(mx);
    for (int j = i; j < n; ++j) m = r[j] > m ? r[j] : m;
    const __m512 vm = _mm512_set1_ps(m);
    __m512 sum = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
      __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(r + i), vm));
      e = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(e, tiny, _CMP_GE_OQ), e);
      _mm512_storeu_ps(r + i, e);
      sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
      const __mmask16 msk = static_cast<__mmask16>((1u << (n - i)) - 1u);
      __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(msk, r + i), vm));
      e = _mm512_maskz_mov_ps(_mm512_kand(msk, _mm512_cmp_ps_mask(e, tiny, _CMP_GE_OQ)), e);
      _mm512_mask_storeu_ps(r + i, msk, e);
      sum = _mm512_add_ps(sum, e);
    }
    row_max[h] = m;
    row_sum[h] = _mm512_reduce_add_ps(sum);
  }
}

void attn_values_avx512(const float* p, int nh, int ld_p, const void* v, int rows, int row_stride,
                        int head, bool kv_f16, int head_dim, float* out, int ld_out) {
  for (int c0 = 0; c0 < head_dim; c0 += 64) {
    const int nv = (head_dim - c0) >= 64 ? 4 : (head_dim - c0) / 16;
    const size_t col = static_cast<size_t>(head) + static_cast<size_t>(c0);
    switch (nh) {
      case 4:
        values_chunk<4>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      case 3:
        values_chunk<3>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      case 2:
        values_chunk<2>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
      default:
        values_chunk<1>(p, ld_p, v, rows, row_stride, col, kv_f16, nv, out + c0, ld_out);
        break;
    }
  }
}

}  // namespace llm::simd
