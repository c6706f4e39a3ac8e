// AVX2 (+FMA, F16C) leaf kernels: rmsnorm, SiLU·up, add and attention, on 8 lanes (the
// AVX-512 file's kernels, narrower). Compiled with -mavx2 -mfma -mf16c; called only when
// cpu_features().has_avx2().
#include <immintrin.h>

#include "leaf_kernels.h"

namespace llm::simd {
namespace {

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

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
  // The accumulators start from `out`, so keys are summed one after another whatever the
  // pieces (KV blocks) they arrive in: pages and one contiguous block give the same bits.
  __m256 acc[NH][4];
  for (int h = 0; h < NH; ++h)
    for (int k = 0; k < 4; ++k)
      acc[h][k] = k < nv ? _mm256_loadu_ps(out + h * ld_out + 8 * k) : _mm256_setzero_ps();
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
      _mm256_storeu_ps(o, acc[h][k]);
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

}  // namespace llm::simd
