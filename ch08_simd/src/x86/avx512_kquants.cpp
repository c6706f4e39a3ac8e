// AVX-512 VNNI dot products of the K-quants (one weight row · one Q8_K activation row), for the
// threaded row driver: Q4_K and Q6_K are the types of most "Q4_K_M" files. Compiled with the
// AVX-512 flags; called only when cpu_features().has_avx512().
//
// Within a 256-value super-block the integer sums are exact: for each sub-block its quants times
// the activations (vpdpbusd on 256-bit registers, the quants unsigned), times the sub-block's
// scale, added up in int32. Q4_K's mins and Q6_K's −32 offset meet Q8_K's per-16 sums (bsums), as
// in chapter 6. Only the float part (one multiply-add per super-block) differs in order from the
// reference's lanes.
#include <immintrin.h>

#include "leaf_kernels.h"

namespace llm::simd {
namespace {

// The layouts of chapter 6's blocks.h, restated as plain structs (no shared header here: this
// file must not instantiate anything the rest of the program links).
struct Q4K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct Q6K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct Q8K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};
static_assert(sizeof(Q4K) == 144 && sizeof(Q6K) == 210 && sizeof(Q8K) == 292);

inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

inline int hsum_epi32(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1)));
}

inline __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

}  // namespace

float vec_dot_q4_K_q8_K_avx512(const void* vw, const void* vx, int64_t n) {
  const auto* w = static_cast<const Q4K*>(vw);
  const auto* x = static_cast<const Q8K*>(vx);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  float sum = 0;
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* s = w[b].scales;
    int sc[8], mn[8];
    for (int j = 0; j < 4; ++j) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
      sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
      mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    __m256i acc = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {  // 64 values: sub-blocks 2g (low nibbles) and 2g+1 (high)
      const __m256i q = load32(w[b].qs + 32 * g);
      const __m256i lo = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_and_si256(q, low4),
                                             load32(x[b].qs + 64 * g));
      const __m256i hi = _mm256_dpbusd_epi32(_mm256_setzero_si256(),
                                             _mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                                             load32(x[b].qs + 64 * g + 32));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(lo, _mm256_set1_epi32(sc[2 * g])));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(hi, _mm256_set1_epi32(sc[2 * g + 1])));
    }
    int mins = 0;
    for (int j = 0; j < 16; ++j) mins += x[b].bsums[j] * mn[j / 2];
    sum += half_to_float(w[b].d) * x[b].d * static_cast<float>(hsum_epi32(acc));
    sum -= half_to_float(w[b].dmin) * x[b].d * static_cast<float>(mins);
  }
  return sum;
}

float vec_dot_q6_K_q8_K_avx512(const void* vw, const void* vx, int64_t n) {
  const auto* w = static_cast<const Q6K*>(vw);
  const auto* x = static_cast<const Q8K*>(vx);
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
  float sum = 0;
  for (int64_t b = 0; b < n / 256; ++b) {
    __m256i acc = _mm256_setzero_si256();
    int offset = 0;  // Σ scale·32·Σx: the −32 of every quant, applied through bsums
    for (int h = 0; h < 2; ++h) {  // 128 values: four runs of 32, each two sub-blocks of 16
      const __m256i ql0 = load32(w[b].ql + 64 * h), ql1 = load32(w[b].ql + 64 * h + 32);
      const __m256i qh = load32(w[b].qh + 32 * h);
      const int8_t* sc = w[b].scales + 8 * h;
      const int8_t* xs = x[b].qs + 128 * h;
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4),
                          _mm256_slli_epi16(_mm256_and_si256(qh, two), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4)),
      };
      for (int r = 0; r < 4; ++r) {  // values 32r..32r+31 of this half: sub-blocks 2r, 2r+1
        const __m256i dp = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[r], load32(xs + 32 * r));
        const int s0 = sc[2 * r], s1 = sc[2 * r + 1];
        acc = _mm256_add_epi32(
            acc, _mm256_mullo_epi32(dp, _mm256_set_epi32(s1, s1, s1, s1, s0, s0, s0, s0)));
        offset += 32 * (s0 * x[b].bsums[8 * h + 2 * r] + s1 * x[b].bsums[8 * h + 2 * r + 1]);
      }
    }
    sum += half_to_float(w[b].d) * x[b].d * static_cast<float>(hsum_epi32(acc) - offset);
  }
  return sum;
}

}  // namespace llm::simd
