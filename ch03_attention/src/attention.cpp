#include "llm/attention/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>

#include "llm/attention/exp_approx.h"
#include "llm/config/error.h"

namespace llm {
namespace {

// Walks the keys (or values) of the causal prefix in position order across blocks.
class KvCursor {
 public:
  KvCursor(std::span<const KvBlock> blocks, bool values) : blocks_(blocks), values_(values) {}
  // Element offset of row t (t only grows while we scan) inside the current block.
  const KvBlock& seek(int t, size_t& offset) {
    while (t >= start_ + blocks_[block_].n_tokens) start_ += blocks_[block_++].n_tokens;
    offset = static_cast<size_t>(t - start_) * static_cast<size_t>(blocks_[block_].row_stride);
    return blocks_[block_];
  }
  // Row t, head offset `head`, as f32 into `out` (n values).
  void read(int t, size_t head, int n, float* out) {
    size_t off;
    const KvBlock& b = seek(t, off);
    const void* base = values_ ? b.v : b.k;
    if (b.dtype == DType::F16) {
      const uint16_t* p = static_cast<const uint16_t*>(base) + off + head;
      for (int i = 0; i < n; ++i) out[i] = f16_to_f32(p[i]);
    } else if (b.decode) {  // a quantized row: head offsets are whole blocks (checked)
      b.decode(
          static_cast<const uint8_t*>(base) + row_bytes(b.dtype, static_cast<int64_t>(off + head)),
          out, n);
    } else {
      const float* p = static_cast<const float*>(base) + off + head;
      std::copy(p, p + n, out);
    }
  }

 private:
  std::span<const KvBlock> blocks_;
  bool values_;
  size_t block_ = 0;
  int start_ = 0;  // position of blocks_[block_]'s first token
};

float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

float round_f16(float x) {
  return f16_to_f32(f32_to_f16(x));
}

// With f16 storage the query is rounded to f16 like the keys (ggml converts the f32 operand
// of an f16 matmul to f16); with f32 storage it is used as is.
void load_query(const float* q, int hd, bool f16, float* out) {
  for (int i = 0; i < hd; ++i) out[i] = f16 ? round_f16(q[i]) : q[i];
}

void check(std::span<const KvBlock> blocks, int n_keys) {
  int held = 0;
  for (const KvBlock& b : blocks) {
    if (b.dtype != DType::F32 && b.dtype != DType::F16 && !b.decode)
      throw Error("attention: KV blocks must be f32 or f16 or carry a decoder, got " +
                  std::string(dtype_name(b.dtype)));
    held += b.n_tokens;
  }
  if (n_keys <= 0 || held < n_keys)
    throw Error("attention: " + std::to_string(n_keys) + " keys requested but the blocks hold " +
                std::to_string(held));
}

}  // namespace

// ---- f16 storage: the sums in llama.cpp's order ------------------------------------------
// llama.cpp (x86, AVX2) computes q·k and p·v with f16 operands and f32 fused multiply-adds, in
// one of two orders (ggml-cpu's vec.cpp and llamafile/sgemm.cpp):
//   a prompt (several tokens): tinyBLAS — 8 lanes, element e into lane e % 8, then the lanes
//     summed as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7));
//   one decoded token: ggml_vec_dot_f16 — 4 accumulators of 8 lanes over steps of 32 elements
//     (element e into accumulator (e % 32) / 8, lane e % 8), reduced as ((a0+a2)+(a1+a3)),
//     then lanes ((k0+k4)+(k1+k5)) + ((k2+k6)+(k3+k7)); elements past the last full step of 32
//     are added one by one in double.
// Keys are padded with zeros to a multiple of 32 there (masked keys weigh exactly 0), which
// adds nothing to any lane.
namespace {

// The horizontal sum of an 8-lane AVX register as ggml's x86 code takes it (high half onto low
// half, then pairs): tinyBLAS's results and each group of eight softmax terms.
float hsum8(const float* l) {
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

struct F16Sum {
  float lane[4][8] = {};
  double tail = 0.0;  // vec_dot_f16's leftovers

  void add(bool batched, int e, int n, float a, float b) {
    if (batched) {
      lane[0][e % 8] = std::fma(a, b, lane[0][e % 8]);
    } else if (e < n - n % 32) {
      lane[(e % 32) / 8][e % 8] = std::fma(a, b, lane[(e % 32) / 8][e % 8]);
    } else {
      tail += static_cast<double>(a * b);
    }
  }
  float result(bool batched) const {
    if (batched) return hsum8(lane[0]);
    float k[8];
    for (int j = 0; j < 8; ++j) k[j] = (lane[0][j] + lane[2][j]) + (lane[1][j] + lane[3][j]);
    const float t0 = k[0] + k[4], t1 = k[1] + k[5], t2 = k[2] + k[6], t3 = k[3] + k[7];
    return static_cast<float>(static_cast<double>((t0 + t1) + (t2 + t3)) + tail);
  }
};

}  // namespace

void attention_plain(const float* q, std::span<const KvBlock> blocks, int n_keys,
                     const AttentionShape& shape, float* out, float* scratch) {
  check(blocks, n_keys);
  const int hd = shape.head_dim;
  const int group = shape.n_heads / shape.n_kv_heads;  // query heads sharing one KV head
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = blocks.front().dtype == DType::F16;
  // llama.cpp takes the matrix-product path for a prompt only when the sizes allow it.
  const bool batched = shape.batch_tokens >= 2 && hd % 8 == 0;
  const int padded_keys = (n_keys + 31) / 32 * 32;
  float* scores = scratch;                                 // [n_keys]
  float* qh = scratch + std::max(n_keys, kAttentionTile);  // [hd]
  float* row = qh + hd;                                    // [hd] one key or value row as f32
  // [hd] running sums (f16 path), aligned for their double member
  static_assert(sizeof(F16Sum) <= 34 * sizeof(float) && alignof(F16Sum) <= 2 * sizeof(float));
  auto* sums = reinterpret_cast<F16Sum*>(
      row + hd + (reinterpret_cast<uintptr_t>(row + hd) % alignof(F16Sum) ? 1 : 0));
  for (int h = 0; h < shape.n_heads; ++h) {
    load_query(q + static_cast<size_t>(h) * hd, hd, f16, qh);
    const size_t head = static_cast<size_t>(h / group) * hd;
    // 1. scores against every key of the causal prefix
    KvCursor keys(blocks, false);
    for (int t = 0; t < n_keys; ++t) {
      keys.read(t, head, hd, row);
      if (f16) {
        F16Sum d;
        for (int i = 0; i < hd; ++i) d.add(batched, i, hd, qh[i], row[i]);
        scores[t] = d.result(batched) * scale;
      } else {
        scores[t] = dot(qh, row, hd) * scale;
      }
    }
    // 2. stable softmax, as ggml's soft_max computes it on x86: subtract the max, exponentiate
    //    eight keys at a time (exp_approx is one SIMD lane), add each group of eight as a
    //    horizontal sum in float into a double total, then multiply by the reciprocal.
    const float mx = *std::max_element(scores, scores + n_keys);
    double sum = 0.0;
    for (int t0 = 0; t0 < n_keys; t0 += 8) {
      // llama.cpp pads its rows of keys to a multiple of 256 and masks the padding (exp = 0),
      // so its softmax never reaches the expf() tail: every key goes through exp_approx.
      float e[8] = {};
      for (int j = 0; j < 8 && t0 + j < n_keys; ++j)
        e[j] = scores[t0 + j] = exp_approx(scores[t0 + j] - mx);
      sum += hsum8(e);
    }
    const float inv_sum = static_cast<float>(1.0 / sum);
    // 3. weighted sum of values (weights rounded to f16 with f16 storage, as ggml does)
    float* oh = out + static_cast<size_t>(h) * hd;
    KvCursor values(blocks, true);
    if (f16) {
      for (int i = 0; i < hd; ++i) new (&sums[i]) F16Sum();
      for (int t = 0; t < n_keys; ++t) {
        values.read(t, head, hd, row);
        const float w = round_f16(scores[t] * inv_sum);
        for (int i = 0; i < hd; ++i) sums[i].add(batched, t, padded_keys, w, row[i]);
      }
      for (int i = 0; i < hd; ++i) oh[i] = sums[i].result(batched);
    } else {
      std::fill(oh, oh + hd, 0.0f);
      for (int t = 0; t < n_keys; ++t) {
        values.read(t, head, hd, row);
        const float w = scores[t] * inv_sum;
        for (int i = 0; i < hd; ++i) oh[i] += w * row[i];
      }
    }
  }
}

void attention_tiled(const float* q, std::span<const KvBlock> blocks, int n_keys,
                     const AttentionShape& shape, float* out, float* scratch) {
  check(blocks, n_keys);
  const int hd = shape.head_dim;
  const int group = shape.n_heads / shape.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = blocks.front().dtype == DType::F16;
  float* s = scratch;                    // [kAttentionTile] scores of one tile
  float* qh = scratch + kAttentionTile;  // [hd]
  float* row = qh + hd;                  // [hd]
  for (int h = 0; h < shape.n_heads; ++h) {
    load_query(q + static_cast<size_t>(h) * hd, hd, f16, qh);
    const size_t head = static_cast<size_t>(h / group) * hd;
    // Online softmax: m = running max, l = running sum of exp(score - m), and the output
    // accumulates unnormalised in `out`. When a tile raises the max, everything accumulated
    // so far is rescaled by exp(m_old - m_new).
    float* acc = out + static_cast<size_t>(h) * hd;
    std::fill(acc, acc + hd, 0.0f);
    float m = -INFINITY, l = 0.0f;
    KvCursor keys(blocks, false), values(blocks, true);
    for (int t0 = 0; t0 < n_keys; t0 += kAttentionTile) {
      const int nt = std::min(kAttentionTile, n_keys - t0);
      float tile_max = -INFINITY;
      for (int j = 0; j < nt; ++j) {
        keys.read(t0 + j, head, hd, row);
        s[j] = dot(qh, row, hd) * scale;
        tile_max = std::max(tile_max, s[j]);
      }
      const float m_new = std::max(m, tile_max);
      const float correction = std::exp(m - m_new);  // 0 on the first tile (m = -inf)
      l *= correction;
      for (int i = 0; i < hd; ++i) acc[i] *= correction;
      for (int j = 0; j < nt; ++j) {
        values.read(t0 + j, head, hd, row);
        const float p = std::exp(s[j] - m_new);
        l += p;
        for (int i = 0; i < hd; ++i) acc[i] += p * row[i];
      }
      m = m_new;
    }
    for (int i = 0; i < hd; ++i) acc[i] /= l;
  }
}

}  // namespace llm
