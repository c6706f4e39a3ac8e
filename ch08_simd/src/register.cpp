// register_simd: the chain so far, then chapter 8's variants with their CPU checks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "llm/batching/register.h"
#include "llm/config/error.h"
#include "llm/quant/blocks.h"
#include "llm/quant/codecs.h"
#include "llm/quant/quant_type.h"
#include "llm/simd/cpu_features.h"
#include "llm/simd/simd.h"
#include "matmul_packed.h"

namespace llm {
namespace simd {
namespace {

using PackedLeaf = void (*)(const PackedMatrix&, const QuantizedRows&, int64_t, int64_t, float*,
                            int64_t);
using FloatLeaf = void (*)(int, const uint8_t*, size_t, int64_t, const float*, int64_t, int64_t,
                           int64_t, float*, int64_t);

// ---- matmuls --------------------------------------------------------------------------------
// One parallel region per call: the activation rows are quantized once (a prompt's in shares,
// then one barrier; a decoded token's single row by every thread into its own copy), then each
// thread takes its share of the jobs' row groups.
template <PackedLeaf Leaf, bool kVectorQuantizer>
bool run_packed(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x, int n) {
  const int64_t cols = jobs.front().w->tensor.cols();
  for (const MatmulJob& j : jobs)
    if (!j.w->packed || j.w->tensor.cols() != cols) return false;
  // Copying a decoded token's row per thread costs a fraction of a microsecond and saves the
  // barrier.
  const bool own_copy = n == 1 && ctx.threads() > 1;
  const size_t need = quantized_bytes(n, cols);
  if (need * (own_copy ? static_cast<size_t>(ctx.threads()) : 1) > ctx.shared_bytes ||
      static_cast<size_t>(cols / kQK) * sizeof(block_q8_1) > ctx.scratch_bytes)
    return false;
  ctx.parallel([&](int t, int nt) {
    QuantizedRows q;
    if (own_copy) {
      quantize_rows(ctx, x, n, cols, ctx.shared + static_cast<size_t>(t) * need, 0, n, t,
                    kVectorQuantizer, q);
    } else {
      const Range rows = split_range(n, nt, t);
      quantize_rows(ctx, x, n, cols, ctx.shared, rows.begin, rows.end, t, kVectorQuantizer, q);
      ctx.barrier();
    }
    // The jobs' row groups, end to end, split in nt contiguous shares: a thread streams as few
    // separate regions as possible (each new stream costs the prefetchers some misses).
    int64_t total = 0;
    for (const MatmulJob& j : jobs) total += packed_matrix(*j.w).groups;
    const Range mine = split_range(total, nt, t);
    int64_t at = 0;
    for (const MatmulJob& j : jobs) {
      const PackedMatrix& m = packed_matrix(*j.w);
      const int64_t g0 = std::max(mine.begin - at, int64_t{0});
      const int64_t g1 = std::min(mine.end - at, m.groups);
      if (g0 < g1) Leaf(m, q, g0, g1, j.y, m.rows);
      at += m.groups;
    }
  });
  return true;
}

template <FloatLeaf Leaf>
bool run_float(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x, int n) {
  ctx.parallel([&](int t, int nt) {
    for (const MatmulJob& j : jobs) {
      const Tensor& w = j.w->tensor;
      const int dtype = w.dtype() == DType::F32 ? 0 : w.dtype() == DType::F16 ? 1 : 2;
      const Range r = split_range(w.rows(), nt, t);
      if (r.begin < r.end)
        Leaf(dtype, reinterpret_cast<const uint8_t*>(w.data()), w.row_stride(), w.cols(), x, n,
             r.begin, r.end, j.y, w.rows());
    }
  });
  return true;
}

// The reference dot products of chapter 6 over threads: rows split, activations quantized once
// (by the reference's own quantizer, so each row's result equals the reference's exactly).
// `fast`: a faster dot product for the same blocks (null: the reference's).
bool threaded_rows(const QuantType& qt, VecDotFn fast, const ExecContext& ctx,
                   std::span<const MatmulJob> jobs, const float* x, int n) {
  const int64_t cols = jobs.front().w->tensor.cols();
  const size_t row_q = row_bytes(qt.activation, cols);
  if (cols % dtype_layout(qt.weight).block_size != 0 ||
      row_q * static_cast<size_t>(n) > ctx.shared_bytes)
    return false;
  ctx.parallel([&](int t, int nt) {
    const Range mine = split_range(n, nt, t);
    for (int64_t i = mine.begin; i < mine.end; ++i)
      qt.quantize_activation(x + i * cols, ctx.shared + static_cast<size_t>(i) * row_q, cols);
    ctx.barrier();
    for (const MatmulJob& j : jobs) {
      const Tensor& w = j.w->tensor;
      const VecDotFn dot = fast ? fast : qt.dot_for(w.rows());
      const Range r = split_range(w.rows(), nt, t);
      for (int64_t row = r.begin; row < r.end; ++row)
        for (int i = 0; i < n; ++i)
          j.y[i * w.rows() + row] =
              dot(w.row(row), ctx.shared + static_cast<size_t>(i) * row_q, cols);
    }
  });
  return true;
}

template <int kTypeIndex>
bool run_threaded(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x, int n) {
  return threaded_rows(quant_types()[kTypeIndex], nullptr, ctx, jobs, x, n);
}
template <int kTypeIndex, VecDotFn kDot>
bool run_threaded_dot(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x,
                      int n) {
  return threaded_rows(quant_types()[kTypeIndex], kDot, ctx, jobs, x, n);
}

#if defined(__x86_64__)
// ---- row-wise ops: a decoded token's rows are too short to split; a prompt's are split --------
template <class F>
void over_rows(const ExecContext& ctx, int rows, F&& f) {
  if (rows < 4 || ctx.threads() == 1) {
    f(0, rows);
    return;
  }
  ctx.parallel([&](int t, int nt) {
    const Range r = split_range(rows, nt, t);
    if (r.begin < r.end) f(r.begin, r.end);
  });
}

using RmsNormLeaf = void (*)(const float*, const float*, int64_t, int64_t, int64_t, float, float*);
using RowLeaf = void (*)(float*, const float*, int64_t);

template <RmsNormLeaf Leaf>
bool rmsnorm_op(const ExecContext& ctx, const float* x, const float* weight, int rows, int dim,
                float eps, float* out) {
  over_rows(ctx, rows, [&](int64_t a, int64_t b) { Leaf(x, weight, a, b, dim, eps, out); });
  return true;
}
template <RowLeaf Leaf>
bool silu_mul_op(const ExecContext& ctx, float* gate, const float* up, int rows, int dim) {
  over_rows(ctx, rows,
            [&](int64_t a, int64_t b) { Leaf(gate + a * dim, up + a * dim, (b - a) * dim); });
  return true;
}
template <RowLeaf Leaf>
bool add_op(const ExecContext& ctx, float* acc, const float* x, int rows, int dim) {
  over_rows(ctx, rows,
            [&](int64_t a, int64_t b) { Leaf(acc + a * dim, x + a * dim, (b - a) * dim); });
  return true;
}

// ---- attention --------------------------------------------------------------------------------
// A token's keys are reduced in chunks of kAttentionChunk at fixed boundaries (0, 256, 512, ...):
// each chunk leaves its unnormalized output, max and sum, and the chunks are merged in order,
//   out = Σ_r acc_r · e^(m_r − M) / Σ_r l_r · e^(m_r − M),  M = max_r m_r.
// The numbers depend on the token alone, never on the batch, so a request's answer is the same
// alone or batched with others, and a prompt chunked or whole (chapter 7 relies on it); only
// who computes which chunk depends on the batch. Work is (token, KV head, up to 4 of its query
// heads — which share every key and value load). A prompt has plenty of such pairs: a thread
// takes a pair's chunks one after another. A decoded token has only n_kv_heads pairs, too few
// for the threads, so its chunks are spread over them (flash-decoding) and merged after one
// barrier, with the same formula in the same order.
using ScoresLeaf = void (*)(const float*, int, int, const void*, int, int, int, bool, float, float*,
                            int);
using ExpLeaf = void (*)(float*, int, int, int, float*, float*);
using ValuesLeaf = void (*)(const float*, int, int, const void*, int, int, int, bool, int, float*,
                            int);

template <ScoresLeaf Scores, ExpLeaf ExpRows, ValuesLeaf Values, int kLanes>
bool attention_op(const ExecContext& ctx, const float* q, const AttentionJob* jobs, int n,
                  const AttentionShape& s, float* out) {
  const int hd = s.head_dim;
  if (hd % kLanes != 0 || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0) return false;
  int max_keys = 0;
  for (int i = 0; i < n; ++i) {
    int held = 0;
    for (const KvBlock& b : jobs[i].blocks) {
      if (b.dtype != DType::F16 && b.dtype != DType::F32) return false;
      held += b.n_tokens;
    }
    if (jobs[i].n_keys <= 0 || held < jobs[i].n_keys) return false;
    max_keys = std::max(max_keys, jobs[i].n_keys);
  }
  const auto n_chunks = [](int keys) { return (keys + kAttentionChunk - 1) / kAttentionChunk; };
  const int group = s.n_heads / s.n_kv_heads;
  const int per_item = std::min(group, 4);
  const int head_chunks = (group + per_item - 1) / per_item;
  const int per_token = s.n_kv_heads * head_chunks;
  const int pairs = n * per_token;
  const size_t part = static_cast<size_t>(per_item) * (hd + 2);  // one chunk's m, l and acc
  // Thread scratch: one chunk's scores, then (whole pairs) the chunk partials of one pair.
  const size_t scores_floats = static_cast<size_t>(kAttentionChunk) * per_item;
  if ((scores_floats + n_chunks(max_keys) * part) * sizeof(float) > ctx.scratch_bytes) return false;
  // Spread chunks over threads only when whole pairs are too few to keep them busy.
  int total_chunks = 0;
  for (int i = 0; i < n; ++i) total_chunks += n_chunks(jobs[i].n_keys) * per_token;
  const bool spread = pairs < 2 * ctx.threads() && total_chunks > pairs;
  if (spread && total_chunks * part * sizeof(float) > ctx.shared_bytes) return false;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int qd = s.n_heads * hd;

  struct Pair {
    int i, g, h0, nh;
  };
  const auto pair_at = [&](int pair) {
    const int i = pair / per_token, g = pair / head_chunks % s.n_kv_heads;
    const int h0 = g * group + pair % head_chunks * per_item;
    return Pair{i, g, h0, std::min(per_item, (g + 1) * group - h0)};
  };
  // Reduces chunk r of a pair into its partial: m[per_item], l[per_item], acc[per_item][hd].
  const auto reduce_chunk = [&](const Pair& p, int r, float* scores, float* partial) {
    float* m = partial;
    float* l = partial + per_item;
    float* acc = partial + 2 * per_item;
    const int k0 = r * kAttentionChunk;
    const int nk = std::min(kAttentionChunk, jobs[p.i].n_keys - k0);
    const float* qi = q + static_cast<size_t>(p.i) * qd + static_cast<size_t>(p.h0) * hd;
    std::memset(acc, 0, sizeof(float) * static_cast<size_t>(per_item) * hd);
    const auto each_block = [&](auto&& f) {  // blocks overlapping [k0, k0 + nk), in order
      int at = 0;
      for (const KvBlock& b : jobs[p.i].blocks) {
        const int lo = std::max(at, k0), hi = std::min(at + b.n_tokens, k0 + nk);
        if (lo < hi) f(b, lo - at, hi - lo, lo - k0);
        at += b.n_tokens;
        if (at >= k0 + nk) break;
      }
    };
    each_block([&](const KvBlock& b, int row, int rows, int dst) {
      const size_t elem = b.dtype == DType::F16 ? 2 : 4;
      Scores(qi, p.nh, hd,
             static_cast<const uint8_t*>(b.k) + elem * static_cast<size_t>(row) * b.row_stride,
             rows, b.row_stride, p.g * hd, b.dtype == DType::F16, scale, scores + dst, nk);
    });
    float mr[4] = {}, lr[4] = {};
    ExpRows(scores, p.nh, nk, nk, mr, lr);
    each_block([&](const KvBlock& b, int row, int rows, int dst) {
      const size_t elem = b.dtype == DType::F16 ? 2 : 4;
      Values(scores + dst, p.nh, nk,
             static_cast<const uint8_t*>(b.v) + elem * static_cast<size_t>(row) * b.row_stride,
             rows, b.row_stride, p.g * hd, b.dtype == DType::F16, hd, acc, hd);
    });
    for (int h = 0; h < per_item; ++h) {
      m[h] = h < p.nh ? mr[h] : -INFINITY;
      l[h] = h < p.nh ? lr[h] : 0.0f;
    }
  };
  const auto merge = [&](const Pair& p, const float* partials, int chunks) {
    // partials: [chunks][part], each part m[per_item], l[per_item], acc[per_item][hd]
    float* o = out + static_cast<size_t>(p.i) * qd + static_cast<size_t>(p.h0) * hd;
    for (int h = 0; h < p.nh; ++h) {
      float mx = -INFINITY;
      for (int r = 0; r < chunks; ++r) mx = std::max(mx, partials[r * part + h]);
      float* oh = o + static_cast<size_t>(h) * hd;
      std::fill(oh, oh + hd, 0.0f);
      float total = 0;
      for (int r = 0; r < chunks; ++r) {
        const float* pr = partials + r * part;
        const float lr = pr[per_item + h];
        const float w = lr > 0 ? std::exp(pr[h] - mx) : 0.0f;
        total += w * lr;
        const float* a = pr + 2 * per_item + static_cast<size_t>(h) * hd;
        for (int c = 0; c < hd; ++c) oh[c] += w * a[c];
      }
      for (int c = 0; c < hd; ++c) oh[c] /= total;
    }
  };

  ctx.parallel([&](int t, int nt) {
    auto* scores = reinterpret_cast<float*>(ctx.thread_scratch(t));
    if (!spread) {
      float* partials = scores + scores_floats;
      for (int pair = t; pair < pairs; pair += nt) {  // interleaved: long and short rows mix
        const Pair p = pair_at(pair);
        const int chunks = n_chunks(jobs[p.i].n_keys);
        for (int r = 0; r < chunks; ++r) reduce_chunk(p, r, scores, partials + r * part);
        merge(p, partials, chunks);
      }
      return;
    }
    // Few pairs (a decoded token): chunk items in pair order, partials in shared memory.
    auto* partials = reinterpret_cast<float*>(ctx.shared);
    int item = 0;
    for (int pair = 0; pair < pairs; ++pair) {
      const Pair p = pair_at(pair);
      const int chunks = n_chunks(jobs[p.i].n_keys);
      for (int r = 0; r < chunks; ++r, ++item)
        if (item % nt == t) reduce_chunk(p, r, scores, partials + item * part);
    }
    ctx.barrier();
    item = 0;
    for (int pair = 0; pair < pairs; ++pair) {
      const Pair p = pair_at(pair);
      const int chunks = n_chunks(jobs[p.i].n_keys);
      if (pair % nt == t) merge(p, partials + item * part, chunks);
      item += chunks;
    }
  });
  return true;
}

bool avx512() {
  return cpu_features().has_avx512();
}
bool avx2() {
  return cpu_features().has_avx2();
}
#endif  // __x86_64__

}  // namespace
}  // namespace simd

void register_simd(Registry& r) {
  register_batching(r);
  using namespace simd;
  r.add({"matmul/q4_k",
         "threaded",
         5,
         {},
         MatmulKernel{&run_threaded<3>, nullptr},
         "reference dot products, threads over rows"});
  r.add({"matmul/q6_k",
         "threaded",
         5,
         {},
         MatmulKernel{&run_threaded<4>, nullptr},
         "reference dot products, threads over rows"});
#if defined(__x86_64__)
  const auto packed = [&](const char* type, const char* variant, bool (*avail)(), MatmulKernel k,
                          const char* doc) {
    r.add({std::string("matmul/") + type, variant, avail == &avx512 ? 10 : 8, avail, k, doc});
  };
  packed("q4_0", "avx512_vnni", &avx512,
         {&run_packed<&matmul_packed_avx512, true>, &prepare_packed<PackedType::Q4_0>},
         "16-row groups, vpdpbusd, threads over groups");
  packed("q4_1", "avx512_vnni", &avx512,
         {&run_packed<&matmul_packed_avx512, true>, &prepare_packed<PackedType::Q4_1>},
         "16-row groups, vpdpbusd, min term from activation block sums");
  packed("q8_0", "avx512_vnni", &avx512,
         {&run_packed<&matmul_packed_avx512, true>, &prepare_packed<PackedType::Q8_0>},
         "16-row groups, vpdpbusd on w+128, corrected by 128·Σx");
  packed("q4_0", "avx2", &avx2,
         {&run_packed<&matmul_packed_avx2, false>, &prepare_packed<PackedType::Q4_0>},
         "16-row groups as 8-row halves, vpmaddubsw + vpmaddwd");
  packed("q4_1", "avx2", &avx2,
         {&run_packed<&matmul_packed_avx2, false>, &prepare_packed<PackedType::Q4_1>},
         "16-row groups as 8-row halves, vpmaddubsw + vpmaddwd");
  packed("q8_0", "avx2", &avx2,
         {&run_packed<&matmul_packed_avx2, false>, &prepare_packed<PackedType::Q8_0>},
         "16-row groups as 8-row halves, sign moved onto the activations");
  for (const char* t : {"f32", "f16", "bf16"}) {
    r.add({std::string("matmul/") + t, "avx512", 10, &avx512,
           MatmulKernel{&run_float<&matmul_float_avx512>, nullptr},
           "widened in registers, 4 tokens per weight row load"});
    r.add({std::string("matmul/") + t, "avx2", 8, &avx2,
           MatmulKernel{&run_float<&matmul_float_avx2>, nullptr},
           "widened in registers, 4 tokens per weight row load"});
  }
  r.add({"matmul/q4_k", "avx512_vnni", 10, &avx512,
         MatmulKernel{&run_threaded_dot<3, &vec_dot_q4_K_q8_K_avx512>, nullptr},
         "super-blocks of 256: vpdpbusd per sub-block, scales in int32; threads over rows"});
  r.add({"matmul/q6_k", "avx512_vnni", 10, &avx512,
         MatmulKernel{&run_threaded_dot<4, &vec_dot_q6_K_q8_K_avx512>, nullptr},
         "super-blocks of 256: 6-bit quants rebuilt in registers, vpdpbusd; threads over rows"});
  r.add({"rmsnorm", "avx512", 10, &avx512, RmsNormFn{&rmsnorm_op<&rmsnorm_avx512>},
         "16 lanes, float sums"});
  r.add(
      {"rmsnorm", "avx2", 8, &avx2, RmsNormFn{&rmsnorm_op<&rmsnorm_avx2>}, "8 lanes, float sums"});
  r.add({"silu_mul", "avx512", 10, &avx512, SiluMulFn{&silu_mul_op<&silu_mul_avx512>},
         "16 lanes of the polynomial exp"});
  r.add({"silu_mul", "avx2", 8, &avx2, SiluMulFn{&silu_mul_op<&silu_mul_avx2>},
         "8 lanes of the polynomial exp"});
  r.add({"add", "avx512", 10, &avx512, AddFn{&add_op<&add_avx512>}, "16 lanes"});
  r.add({"add", "avx2", 8, &avx2, AddFn{&add_op<&add_avx2>}, "8 lanes"});
  r.add({"attention", "avx512", 10, &avx512,
         AttentionBatchFn{
             &attention_op<&attn_scores_avx512, &exp_rows_avx512, &attn_values_avx512, 16>},
         "GQA heads share each key load; threads over tokens x KV heads"});
  r.add({"attention", "avx2", 8, &avx2,
         AttentionBatchFn{&attention_op<&attn_scores_avx2, &exp_rows_avx2, &attn_values_avx2, 8>},
         "GQA heads share each key load; threads over tokens x KV heads"});
#endif  // __x86_64__
}

}  // namespace llm
