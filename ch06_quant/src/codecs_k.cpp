// Codecs of the K-quants (Q4_K, Q6_K) and of their activation type Q8_K.
//
// K-quants quantize twice: each small sub-block gets its own float scale (and for Q4_K a min),
// found by a least-squares search rather than taken from max/min, and then those per-sub-block
// scales are quantized to 6 or 8 bits against one fp16 super-scale per 256 values. That costs
// 4.5 (Q4_K) or 6.5625 (Q6_K) bits per weight and fits the data much better than Q4_0/Q4_1.
//
// The searches below are ggml's make_qkx2_quants and make_qx_quants with the constants
// quantize_row_q4_K_ref / quantize_row_q6_K_ref pass them, and with ggml's exact order of
// float operations (w·l·l is (w·l)·l, an error term is w·(diff·diff)): any reordering changes
// which candidate scale wins on some blocks, and with it the bytes.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "llm/config/dtype.h"
#include "llm/quant/blocks.h"
#include "llm/quant/codecs.h"

namespace llm {
namespace {

using detail::nearest_int;

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: below this a group is zero

// Fits x[i] ≈ scale·L[i] − the_min with L[i] in 0..nmax, minimizing Σ w[i]·err², where the min
// is never positive (a block of all-positive values keeps min 0). Starts from the max/min
// grid, then tries nstep+1 stretched grids (nmax + rmin + rdelta·is levels over the range) and,
// for each, solves the 2×2 weighted least-squares problem for (scale, min) given the levels.
// Returns the scale; *the_min receives −min (≥ 0). ggml: make_qkx2_quants (use_mad = false).
float make_qkx2_quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                       float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::clamp(l, 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += w[i] * (diff * diff);
  }
  uint8_t Laux[kQK_K];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {  // the fit wants a positive offset: pin it to 0, refit the scale
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * Laux[i] + this_min - x[i];
        cur_error += w[i] * (diff * diff);
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Fits x[i] ≈ scale·(L[i] − nmax) with L[i] − nmax in −nmax..nmax−1, weighting each value by
// x[i]² (so large values are fitted best). The value of largest magnitude maps to −nmax, as in
// Q4_0; then 18 slightly different grids are tried and the least-squares scale of the best one
// is kept. ggml: make_qx_quants with rmse_type = 1 and no importance weights.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  float iscale = -nmax / max;
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    // sumlx²/suml2 is the error reduction of the least-squares fit: bigger is better.
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<int8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q4_K's 12 packed scale bytes (layout in blocks.h): sub-block j's 6-bit scale and min.
void get_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void set_scale_min_k4(int j, uint8_t sc, uint8_t m, uint8_t* q) {
  if (j < 4) {
    q[j] = sc;
    q[j + 4] = m;
  } else {
    q[j + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
    q[j - 4] = static_cast<uint8_t>(q[j - 4] | ((sc >> 4) << 6));
    q[j] = static_cast<uint8_t>(q[j] | ((m >> 4) << 6));
  }
}

}  // namespace

void quantize_row_q4_K_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK_K == 0);
  auto* y = static_cast<block_q4_K*>(vy);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    uint8_t L[kQK_K];
    float scales[kQK_K / 32];
    float mins[kQK_K / 32];
    float max_scale = 0;  // scales are positive: the min absorbs the offset
    float max_min = 0;
    for (int j = 0; j < kQK_K / 32; ++j) {
      const float* xs = x + 32 * j;
      // Weight each value by the sub-block's RMS plus its own magnitude.
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
      const float av_x = std::sqrt(sum_x2 / 32);
      float weights[32];
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
      scales[j] = make_qkx2_quants(32, 15, xs, weights, L + 32 * j, &mins[j], -1.f, 0.1f, 20);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }

    // Second level: scales and mins become 6-bit integers against fp16 d and dmin.
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    std::memset(y[b].scales, 0, sizeof y[b].scales);
    for (int j = 0; j < kQK_K / 32; ++j) {
      // (ggml narrows to uint8_t before clamping to 63; kept, though the values fit anyway)
      const uint8_t ls =
          std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
      const uint8_t lm =
          std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
      set_scale_min_k4(j, ls, lm, y[b].scales);
    }
    y[b].d = f32_to_f16(max_scale / 63.f);
    y[b].dmin = f32_to_f16(max_min / 63.f);

    // Re-quantize every value against the scale and min it will really be decoded with. A
    // sub-block whose scale rounded to 0 keeps the levels of its search (they decode to −min
    // whatever they are, but they are bytes in the file).
    for (int j = 0; j < kQK_K / 32; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, y[b].scales, &sc, &m);
      const float d = f16_to_f32(y[b].d) * sc;
      if (d == 0.0f) continue;
      const float dm = f16_to_f32(y[b].dmin) * m;
      for (int i = 0; i < 32; ++i)
        L[32 * j + i] =
            static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, 15));
    }
    for (int g = 0; g < kQK_K / 64; ++g)
      for (int l = 0; l < 32; ++l)
        y[b].qs[32 * g + l] = static_cast<uint8_t>(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
  }
}

void quantize_row_q6_K_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK_K == 0);
  auto* y = static_cast<block_q6_K*>(vy);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    int8_t L[kQK_K];  // levels 0..63, i.e. q + 32
    float scales[kQK_K / 16];
    float max_scale = 0;  // the scale of largest magnitude, with its sign
    float max_abs_scale = 0;
    for (int j = 0; j < kQK_K / 16; ++j) {
      scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {  // all zero
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    // The largest scale maps to −128 so that d > 0 whatever its sign, like Q4_0's values.
    const float iscale = -128.f / max_scale;
    y[b].d = f32_to_f16(1 / iscale);
    for (int j = 0; j < kQK_K / 16; ++j)
      y[b].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));

    for (int j = 0; j < kQK_K / 16; ++j) {
      const float d = f16_to_f32(y[b].d) * y[b].scales[j];
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i) {
        const int l = std::clamp(nearest_int(x[16 * j + i] / d), -32, 31);
        L[16 * j + i] = static_cast<int8_t>(l + 32);
      }
    }
    // Each half of 128 values: 4 low bits into ql (two per byte), 2 high bits into qh (four
    // per byte), in the interleaved order described in blocks.h.
    for (int h = 0; h < 2; ++h) {
      const int8_t* Lh = L + 128 * h;
      uint8_t* ql = y[b].ql + 64 * h;
      uint8_t* qh = y[b].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                     ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

void quantize_row_q8_K_ref(const float* x, void* vy, int64_t n) {
  assert(n % kQK_K == 0);
  auto* y = static_cast<block_q8_K*>(vy);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      // ggml leaves bsums unwritten here; we zero them so the block's bytes are defined.
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    // −127 rather than −128 keeps the quants symmetric (ggml needs that for its IQ kernels).
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j)
      y[b].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += y[b].qs[16 * g + i];
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
    y[b].d = 1 / iscale;
  }
}

void dequantize_row_q4_K(const void* vx, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const block_q4_K*>(vx);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = f16_to_f32(x[b].d);
    const float dmin = f16_to_f32(x[b].dmin);
    for (int g = 0; g < kQK_K / 64; ++g) {  // sub-blocks 2g (low nibbles) and 2g+1 (high)
      const uint8_t* q = x[b].qs + 32 * g;
      uint8_t sc, m;
      get_scale_min_k4(2 * g, x[b].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(2 * g + 1, x[b].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q6_K(const void* vx, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const block_q6_K*>(vx);
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    const float d = f16_to_f32(x[b].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      const int8_t* sc = x[b].scales + 8 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        yh[l] = d * sc[is] * q1;
        yh[l + 32] = d * sc[is + 2] * q2;
        yh[l + 64] = d * sc[is + 4] * q3;
        yh[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void dequantize_row_q8_K(const void* vx, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const block_q8_K*>(vx);
  for (int64_t b = 0; b < n / kQK_K; ++b)
    for (int j = 0; j < kQK_K; ++j) *y++ = x[b].d * x[b].qs[j];
}

}  // namespace llm
