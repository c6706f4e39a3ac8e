// The op-conformance suite (the pattern of llama.cpp's test-backend-ops): every registered
// variant of every op against that op's reference, on random data at odd sizes, with one and
// two threads. A variant may decline a case (return false; the backend then runs the reference
// and counts a fallback) but never answer it wrongly. The suite is a function returning what
// failed, so the last tests can show it catches deliberately wrong variants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "llm/quant/quant.h"
#include "llm/simd/cpu_features.h"
#include "llm/simd/simd.h"
#include "llm/testing/testing.h"
#include "llm/transformer/kernels.h"

using namespace llm;
namespace t = llm::testing;

namespace {

struct Context {
  explicit Context(int threads) : pool(threads) {
    ctx.pool = &pool;
    ctx.scratch_bytes = 64 << 10;
    ctx.scratch = scratch.reserve(ctx.scratch_bytes * static_cast<size_t>(threads));
    ctx.shared_bytes = 4 << 20;
    ctx.shared = shared.reserve(ctx.shared_bytes);
  }
  ThreadPool pool;
  ScratchArena scratch, shared;
  ExecContext ctx;
};

// Relative error measures: NMSE for sums (as test-backend-ops), max relative difference for the
// attention output.
double nmse(const std::vector<float>& a, const std::vector<float>& ref) {
  return t::nmse(a, ref);
}

Tensor random_weight(DType type, int rows, int cols, uint64_t seed) {
  const Tensor f =
      Tensor::from_f32(t::random_floats(static_cast<size_t>(rows) * cols, seed), {rows, cols});
  if (type == DType::F32) return f;
  return quantize_tensor(f, type);  // f16, bf16 and the quantized types alike
}

struct Report {
  std::vector<std::string> failures;
  int checked = 0, declined = 0;
  void fail(const KernelEntry& v, const std::string& what) {
    failures.push_back(v.name() + ": " + what);
  }
};

void check_matmul(const KernelEntry& ref_e, const KernelEntry& v, DType type, Context& c,
                  Report& rep) {
  const auto ref = Registry::cast<MatmulKernel>(ref_e);
  const auto k = Registry::cast<MatmulKernel>(v);
  const int block = dtype_layout(type).block_size;
  const std::vector<int> col_sizes =
      block > 1 ? std::vector<int>{block * 3, block * 18} : std::vector<int>{67, 576};
  for (int rows : {37, 100, 16})
    for (int cols : col_sizes) {
      PreparedWeight pw, pr;
      pw.tensor = pr.tensor = random_weight(type, rows, cols, static_cast<uint64_t>(rows * cols));
      if (k.prepare && !k.prepare(pw.tensor, pw)) {
        ++rep.declined;
        continue;
      }
      for (int n : {1, 3, 17}) {
        const auto x =
            t::random_floats(static_cast<size_t>(n) * cols, static_cast<uint64_t>(n + cols), -2, 2);
        std::vector<float> want(static_cast<size_t>(n) * rows), got(want.size(), NAN);
        const MatmulJob jr{&pr, want.data()}, jw{&pw, got.data()};
        ref.run(c.ctx, {&jr, 1}, x.data(), n);
        if (!k.run(c.ctx, {&jw, 1}, x.data(), n)) {
          ++rep.declined;
          continue;
        }
        ++rep.checked;
        const double e = nmse(got, want);
        if (!(e <= 1e-8))
          rep.fail(v, "rows " + std::to_string(rows) + " cols " + std::to_string(cols) + " n " +
                          std::to_string(n) + ": NMSE " + std::to_string(e));
        // Batch invariance: each token's row equals that token computed alone, bit for bit.
        if (n > 1) {
          std::vector<float> alone(static_cast<size_t>(rows));
          const MatmulJob ja{&pw, alone.data()};
          for (int i = 0; i < n; i += n - 1) {
            k.run(c.ctx, {&ja, 1}, x.data() + static_cast<size_t>(i) * cols, 1);
            for (int r = 0; r < rows; ++r)
              if (alone[static_cast<size_t>(r)] != got[static_cast<size_t>(i) * rows + r]) {
                rep.fail(v, "token " + std::to_string(i) + " of " + std::to_string(n) +
                                " differs from the same token alone (batch invariance)");
                i = n;
                break;
              }
          }
        }
      }
    }
}

template <class Fn, class Call>
void check_rows(const KernelEntry& ref_e, const KernelEntry& v, Context& c, Report& rep,
                Call call) {
  for (int rows : {1, 5})
    for (int dim : {576, 65, 7}) {
      const auto x =
          t::random_floats(static_cast<size_t>(rows) * dim, static_cast<uint64_t>(dim), -4, 4);
      const auto y =
          t::random_floats(static_cast<size_t>(rows) * dim, static_cast<uint64_t>(dim + 1));
      std::vector<float> want = x, got = x;
      call(Registry::cast<Fn>(ref_e), c.ctx, want, y, rows, dim);
      if (!call(Registry::cast<Fn>(v), c.ctx, got, y, rows, dim)) {
        ++rep.declined;
        continue;
      }
      ++rep.checked;
      const double e = nmse(got, want);
      if (!(e <= 1e-10))
        rep.fail(v, "rows " + std::to_string(rows) + " dim " + std::to_string(dim) + ": NMSE " +
                        std::to_string(e));
    }
}

void check_attention(const KernelEntry& ref_e, const KernelEntry& v, Context& c, Report& rep) {
  const auto ref = Registry::cast<AttentionBatchFn>(ref_e);
  const auto fn = Registry::cast<AttentionBatchFn>(v);
  struct Shape {
    int heads, kv_heads, head_dim;
  };
  std::mt19937 rng(7);
  for (const Shape sh : {Shape{9, 3, 64}, Shape{8, 8, 32}, Shape{8, 1, 64}, Shape{12, 4, 48}})
    for (const DType kv : {DType::F16, DType::F32})
      for (const int n : {1, 4}) {
        const int max_keys = 700, stride = sh.kv_heads * sh.head_dim + 8;  // padded rows
        const auto kf = t::random_floats(static_cast<size_t>(max_keys) * stride, rng(), -2, 2);
        const auto vf = t::random_floats(kf.size(), rng());
        std::vector<uint16_t> kh(kf.size()), vh(vf.size());
        for (size_t i = 0; i < kf.size(); ++i) {
          kh[i] = f32_to_f16(kf[i]);
          vh[i] = f32_to_f16(vf[i]);
        }
        const size_t esz = kv == DType::F16 ? 2 : 4;
        const auto* kb = kv == DType::F16 ? static_cast<const void*>(kh.data()) : kf.data();
        const auto* vb = kv == DType::F16 ? static_cast<const void*>(vh.data()) : vf.data();
        // Paged: blocks of uneven sizes.
        std::vector<KvBlock> blocks;
        for (int at = 0; at < max_keys;) {
          const int len = std::min(max_keys - at, 1 + static_cast<int>(rng() % 50));
          blocks.push_back(
              {static_cast<const uint8_t*>(kb) + esz * static_cast<size_t>(at) * stride,
               static_cast<const uint8_t*>(vb) + esz * static_cast<size_t>(at) * stride, len,
               stride, kv});
          at += len;
        }
        std::vector<AttentionJob> jobs;
        for (int i = 0; i < n; ++i)
          jobs.push_back({blocks, i == 0 ? max_keys : 1 + static_cast<int>(rng() % max_keys)});
        const AttentionShape s{sh.heads, sh.kv_heads, sh.head_dim, n};
        const size_t width = static_cast<size_t>(sh.heads) * sh.head_dim;
        const auto q = t::random_floats(width * n, rng(), -2, 2);
        std::vector<float> want(width * n), got(width * n, NAN);
        ref(c.ctx, q.data(), jobs.data(), n, s, want.data());
        if (!fn(c.ctx, q.data(), jobs.data(), n, s, got.data())) {
          ++rep.declined;
          continue;
        }
        ++rep.checked;
        // The reference rounds the query and the softmax weights to f16 with an f16 cache, as
        // llama.cpp does; a variant need not.
        const double tol = kv == DType::F16 ? 3e-3 : 1e-5;
        const double e = t::max_rel_diff(got, want, 0.5);
        if (!(e <= tol))
          rep.fail(v, std::to_string(sh.heads) + "/" + std::to_string(sh.kv_heads) + "/" +
                          std::to_string(sh.head_dim) + " " + std::string(dtype_name(kv)) + " n " +
                          std::to_string(n) + ": max rel diff " + std::to_string(e));
      }
}

// Runs every variant of every op in r against its reference; returns what failed.
Report check_registry(const Registry& r, int threads) {
  Context c(threads);
  Report rep;
  for (const std::string& op : r.ops()) {
    const auto vars = r.variants(op);
    const KernelEntry& ref = *vars.front();
    for (const KernelEntry* v : vars) {
      if (v == &ref || !v->usable()) continue;
      if (op.starts_with("matmul/")) {
        check_matmul(ref, *v, *dtype_from_name(op.substr(7)), c, rep);
      } else if (op == "rmsnorm") {
        check_rows<RmsNormFn>(ref, *v, c, rep,
                              [](RmsNormFn f, const ExecContext& ctx, std::vector<float>& x,
                                 const std::vector<float>& w, int rows, int dim) {
                                std::vector<float> in = x;
                                return f(ctx, in.data(), w.data(), rows, dim, 1e-5f, x.data());
                              });
      } else if (op == "silu_mul") {
        check_rows<SiluMulFn>(ref, *v, c, rep,
                              [](SiluMulFn f, const ExecContext& ctx, std::vector<float>& x,
                                 const std::vector<float>& y, int rows,
                                 int dim) { return f(ctx, x.data(), y.data(), rows, dim); });
      } else if (op == "add") {
        check_rows<AddFn>(
            ref, *v, c, rep,
            [](AddFn f, const ExecContext& ctx, std::vector<float>& x, const std::vector<float>& y,
               int rows, int dim) { return f(ctx, x.data(), y.data(), rows, dim); });
      } else if (op == "attention") {
        check_attention(ref, *v, c, rep);
      } else if (op.starts_with("to_f32/") || op.starts_with("from_f32/") ||
                 op.starts_with("vec_dot/")) {
        // chapter 6's suite (tests/ch06_quant) covers the codecs and dot products
      } else {
        rep.fail(*v, "no conformance check for this op");
      }
    }
  }
  return rep;
}

Registry& simd_registry() {
  static Registry r = [] {
    Registry reg;
    register_simd(reg);
    return reg;
  }();
  return r;
}

}  // namespace

// Batch invariance (what chapter 7's engine promises a request): every attention variant but the
// reference — which follows llama.cpp's rounding, different for a prompt and a decoded token —
// gives each token bit for bit the same output alone (n = 1: keys split over the threads) as
// inside a batch, and with its keys in one block or in pages of 16.
TEST(OpConformance, AttentionIsBatchInvariant) {
  Context c(2);
  const Registry& r = simd_registry();
  const auto vars = r.variants("attention");
  const int heads = 9, kv_heads = 3, hd = 64, max_keys = 700, stride = kv_heads * hd;
  const auto kf = t::random_floats(static_cast<size_t>(max_keys) * stride, 11, -2, 2);
  const auto vf = t::random_floats(kf.size(), 12);
  std::vector<uint16_t> kh(kf.size()), vh(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) {
    kh[i] = f32_to_f16(kf[i]);
    vh[i] = f32_to_f16(vf[i]);
  }
  const KvBlock whole{kh.data(), vh.data(), max_keys, stride, DType::F16};
  std::vector<KvBlock> pages;
  for (int at = 0; at < max_keys; at += 16)
    pages.push_back({kh.data() + static_cast<size_t>(at) * stride,
                     vh.data() + static_cast<size_t>(at) * stride, 16, stride, DType::F16});
  pages.back().n_tokens = max_keys - (max_keys / 16) * 16;
  const std::vector<int> keys = {700, 1, 257, 512, 33, 640};
  const int n = static_cast<int>(keys.size()), width = heads * hd;
  const auto q = t::random_floats(static_cast<size_t>(width) * n, 13, -2, 2);
  int checked = 0;
  for (const KernelEntry* v : vars) {
    if (v == vars.front() || !v->usable()) continue;
    const auto fn = Registry::cast<AttentionBatchFn>(*v);
    std::vector<AttentionJob> jobs;
    for (int k : keys) jobs.push_back({{&whole, 1}, k});
    std::vector<float> batched(static_cast<size_t>(width) * n);
    ASSERT_TRUE(fn(c.ctx, q.data(), jobs.data(), n, {heads, kv_heads, hd, n}, batched.data()))
        << v->name();
    for (int i = 0; i < n; ++i) {
      for (const bool paged : {false, true}) {
        const AttentionJob alone{
            paged ? std::span<const KvBlock>(pages) : std::span<const KvBlock>(&whole, 1),
            keys[static_cast<size_t>(i)]};
        std::vector<float> out(static_cast<size_t>(width));
        ASSERT_TRUE(fn(c.ctx, q.data() + static_cast<size_t>(i) * width, &alone, 1,
                       {heads, kv_heads, hd, 1}, out.data()));
        ASSERT_EQ(0, std::memcmp(out.data(), batched.data() + static_cast<size_t>(i) * width,
                                 out.size() * sizeof(float)))
            << v->name() << ": token with " << keys[static_cast<size_t>(i)] << " keys"
            << (paged ? " (paged)" : "");
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

TEST(OpConformance, EveryVariantMatchesItsReference) {
  std::printf("CPU: %s\n", cpu_features().summary().c_str());
  for (int threads : {1, 2}) {
    const Report rep = check_registry(simd_registry(), threads);
    for (const std::string& f : rep.failures) ADD_FAILURE() << f << " (" << threads << " threads)";
    std::printf("%d threads: %d cases checked, %d declined\n", threads, rep.checked, rep.declined);
    if (cpu_features().has_avx512()) {
      EXPECT_GE(rep.checked, 150);
    }
  }
}

// Q4_0's fast kernel adds each block in the order of llama.cpp's repacked Q4_0 kernel, as the
// reference does for matrices of 8k rows, from the same activation codes: equal bit for bit.
TEST(OpConformance, Q4_0EqualsTheReferenceBitForBit) {
  const Registry& r = simd_registry();
  Context c(2);
  int checked = 0;
  for (const KernelEntry* v : r.variants("matmul/q4_0")) {
    if (v->variant == "ref" || v->variant == "threaded" || !v->usable()) continue;
    const auto k = Registry::cast<MatmulKernel>(*v);
    PreparedWeight pw, pr;
    pw.tensor = pr.tensor = random_weight(DType::Q4_0, 48, 576, 3);
    ASSERT_TRUE(k.prepare(pw.tensor, pw));
    const auto x = t::random_floats(5 * 576, 4, -3, 3);
    std::vector<float> want(5 * 48), got(5 * 48);
    const MatmulJob jr{&pr, want.data()}, jw{&pw, got.data()};
    Registry::cast<MatmulKernel>(*r.find("matmul/q4_0", "ref")).run(c.ctx, {&jr, 1}, x.data(), 5);
    ASSERT_TRUE(k.run(c.ctx, {&jw, 1}, x.data(), 5));
    EXPECT_EQ(got, want) << v->name();
    ++checked;
  }
  if (!checked)
    GTEST_SKIP() << "no SIMD Q4_0 kernel runs on this CPU (" << cpu_features().summary() << ")";
}

// ---- the suite can fail: deliberately wrong variants are caught ---------------------------------
namespace {
MatmulKernel g_good_q4_1;
bool broken_q4_1(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x, int n) {
  if (!g_good_q4_1.run(ctx, jobs, x, n)) return false;
  jobs[0].y[jobs[0].w->tensor.rows() - 1] *= 1.01f;  // one output of one row 1% off
  return true;
}
AttentionBatchFn g_good_attention;
bool broken_attention(const ExecContext& ctx, const float* q, const AttentionJob* jobs, int n,
                      const AttentionShape& s, float* out) {
  std::vector<AttentionJob> fewer(jobs, jobs + n);
  for (AttentionJob& j : fewer) j.n_keys = std::max(1, j.n_keys - 1);  // forgets the newest key
  return g_good_attention(ctx, q, fewer.data(), n, s, out);
}
bool broken_rmsnorm(const ExecContext&, const float* x, const float* w, int rows, int dim, float,
                    float* out) {
  for (int r = 0; r < rows; ++r) rmsnorm_ref(out + r * dim, x + r * dim, w, dim, 1e-2f);  // eps
  return true;
}
}  // namespace

TEST(OpConformance, CatchesWrongVariants) {
  Registry r;
  register_simd(r);
  g_good_q4_1 = Registry::cast<MatmulKernel>(*r.best("matmul/q4_1"));
  g_good_attention = Registry::cast<AttentionBatchFn>(*r.best("attention"));
  r.add({"matmul/q4_1", "broken", 0, {}, MatmulKernel{&broken_q4_1, g_good_q4_1.prepare}, ""});
  r.add({"attention", "broken", 0, {}, AttentionBatchFn{&broken_attention}, ""});
  r.add({"rmsnorm", "broken", 0, {}, RmsNormFn{&broken_rmsnorm}, ""});
  r.add({"softmax_that_nobody_checks", "ref", 0, {}, AddFn{nullptr}, ""});
  r.add({"softmax_that_nobody_checks", "fast", 0, {}, AddFn{nullptr}, ""});
  const Report rep = check_registry(r, 2);
  for (const char* name : {"matmul/q4_1/broken", "attention/broken", "rmsnorm/broken",
                           "softmax_that_nobody_checks/fast"}) {
    bool found = false;
    for (const std::string& f : rep.failures) found = found || f.starts_with(name);
    EXPECT_TRUE(found) << name << " was not caught";
  }
  for (const std::string& f : rep.failures) {
    const bool planted =
        f.find("broken") != std::string::npos || f.find("nobody") != std::string::npos;
    EXPECT_TRUE(planted) << "an honest variant failed: " << f;
  }
}
