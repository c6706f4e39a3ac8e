// Every reference kernel against a straightforward double-precision loop, and every
// registered variant of every op against its reference (the op-conformance pattern).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "llm/testing/testing.h"
#include "llm/transformer/backend.h"
#include "llm/transformer/kernels.h"

using namespace llm;
namespace t = llm::testing;

namespace {
std::vector<double> matmul_double(const std::vector<float>& w, const std::vector<float>& x,
                                  int rows, int cols, int n) {
  std::vector<double> y(static_cast<size_t>(rows * n));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < rows; ++r) {
      double s = 0;
      for (int c = 0; c < cols; ++c)
        s += static_cast<double>(w[static_cast<size_t>(r * cols + c)]) *
             x[static_cast<size_t>(i * cols + c)];
      y[static_cast<size_t>(i * rows + r)] = s;
    }
  return y;
}
}  // namespace

TEST(Kernels, MatmulF32F16Bf16AgainstDouble) {
  const int rows = 37, cols = 96, n = 5;
  const auto wf = t::random_floats(static_cast<size_t>(rows * cols), 1);
  const auto x = t::random_floats(static_cast<size_t>(n * cols), 2);
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<uint16_t> half(wf.size());
    std::vector<float> wq(wf.size());  // the weights as the dtype stores them
    for (size_t i = 0; i < wf.size(); ++i) {
      half[i] = dt == DType::F16 ? f32_to_f16(wf[i]) : f32_to_bf16(wf[i]);
      wq[i] = dt == DType::F32   ? wf[i]
              : dt == DType::F16 ? f16_to_f32(half[i])
                                 : bf16_to_f32(half[i]);
    }
    const Tensor w = dt == DType::F32 ? Tensor::from_f32(wf, {rows, cols})
                                      : Tensor::borrow(half.data(), dt, {rows, cols});
    std::vector<float> y(static_cast<size_t>(rows * n));
    matmul_ref(w, x.data(), n, y.data());
    const auto ref = matmul_double(wq, x, rows, cols, n);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-4) << dtype_name(dt);
  }
}

TEST(Kernels, RmsNormSiluMulAddSoftmax) {
  const int n = 576;
  const auto x = t::random_floats(n, 3, -3, 3), w = t::random_floats(n, 4);
  std::vector<float> out(n);
  rmsnorm_ref(out.data(), x.data(), w.data(), n, 1e-5f);
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
  for (int i = 0; i < n; ++i)
    ASSERT_NEAR(out[static_cast<size_t>(i)],
                x[static_cast<size_t>(i)] * scale * w[static_cast<size_t>(i)], 1e-5);

  auto g = x;
  silu_mul_ref(g.data(), w.data(), n);
  for (int i = 0; i < n; ++i) {
    const double a = x[static_cast<size_t>(i)];
    ASSERT_NEAR(g[static_cast<size_t>(i)], a / (1 + std::exp(-a)) * w[static_cast<size_t>(i)],
                1e-5);
  }
  auto acc = x;
  add_ref(acc.data(), w.data(), n);
  for (int i = 0; i < n; ++i)
    ASSERT_FLOAT_EQ(acc[static_cast<size_t>(i)],
                    x[static_cast<size_t>(i)] + w[static_cast<size_t>(i)]);

  std::vector<float> s{1000.0f, 1001.0f, 999.0f, -1e30f};  // stable: no overflow
  softmax_ref(s.data(), 4);
  const double e0 = std::exp(-1.0), e2 = std::exp(-2.0), z = e0 + 1 + e2;
  EXPECT_NEAR(s[0], e0 / z, 1e-6);
  EXPECT_NEAR(s[1], 1 / z, 1e-6);
  EXPECT_NEAR(s[2], e2 / z, 1e-6);
  EXPECT_EQ(s[3], 0.0f);
}

// The op-conformance suite: each registered variant of an op against the op's reference on
// random data. Later chapters' variants land in the same registry and are checked here too.
// SwiGLU bit for bit against llama.cpp's ggml_vec_swiglu_f32 (x86 AVX2) on a row of 13: the
// first 8 values take its vector path (polynomial exp), the last 5 its scalar tail (expf). Each
// input is one where the two ways round differently, so swapping them anywhere fails here.
// Values from tests/ch03_attention/golden/make_ggml_exp_golden.cpp.
TEST(Kernels, SiluMulEqualsLlamaCppBitForBit) {
  constexpr uint32_t kX[13] = {0xc0ff8fc5u, 0xc0ff1f8au, 0xc0fdced9u, 0xc0fd5e9eu, 0xc0fcee63u,
                               0xc0fc0dedu, 0xc0fa4d01u, 0xc0f9dcc6u, 0xc0f96c8bu, 0xc0f8fc50u,
                               0xc0f88c15u, 0xc0f81bdau, 0xc0f7ab9fu};
  constexpr uint32_t kUp[13] = {0x3f000000u, 0x3f200000u, 0x3f400000u, 0x3f600000u, 0x3f800000u,
                                0x3f900000u, 0x3fa00000u, 0x3fb00000u, 0x3fc00000u, 0x3fd00000u,
                                0x3fe00000u, 0x3ff00000u, 0x40000000u};
  constexpr uint32_t kOut[13] = {0xbab1f075u, 0xbae11abdu, 0xbb0c007au, 0xbb254d41u, 0xbb3f309fu,
                                 0xbb5c4b85u, 0xbb8060beu, 0xbb8ee97fu, 0xbb9dc6c8u, 0xbbacfa0du,
                                 0xbbbc84c9u, 0xbbcc687du, 0xbbdca6b1u};
  float gate[13], up[13];
  for (int i = 0; i < 13; ++i) {
    gate[i] = std::bit_cast<float>(kX[i]);
    up[i] = std::bit_cast<float>(kUp[i]);
  }
  silu_mul_ref(gate, up, 13);
  for (int i = 0; i < 13; ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>(gate[i]), kOut[i]) << "value " << i;
}

TEST(Kernels, EveryRegisteredVariantMatchesItsReference) {
  Registry r;
  register_transformer(r);
  int checked = 0;
  for (const std::string& op : r.ops()) {
    const auto vars = r.variants(op);
    const KernelEntry* ref = vars.front();
    for (const KernelEntry* v : vars) {
      if (v == ref || !v->usable()) continue;
      if (op == "attention") {
        const AttentionShape s{9, 3, 64};
        const int n_keys = 300;
        const auto q = t::random_floats(576, 1), k = t::random_floats(300 * 192, 2),
                   vv = t::random_floats(300 * 192, 3);
        const KvBlock b{k.data(), vv.data(), n_keys, 192};
        std::vector<float> o1(576), o2(576), scratch(attention_scratch_floats(n_keys, 64));
        ExecContext ctx;
        ctx.scratch = reinterpret_cast<std::byte*>(scratch.data());
        ctx.scratch_bytes = scratch.size() * sizeof(float);
        const AttentionJob job{{&b, 1}, n_keys};
        ASSERT_TRUE(Registry::cast<AttentionBatchFn>(*ref)(ctx, q.data(), &job, 1, s, o1.data()));
        ASSERT_TRUE(Registry::cast<AttentionBatchFn>(*v)(ctx, q.data(), &job, 1, s, o2.data()));
        EXPECT_LT(t::max_rel_diff(o2, o1, 1e-2), 1e-5) << v->name();
        ++checked;
      } else if (op.starts_with("matmul/") || op.starts_with("to_f32/")) {
        // Covered by chapter-specific suites (quantized weights need their codecs).
      } else {
        ADD_FAILURE() << "no conformance check for variant " << v->name();
      }
    }
  }
  EXPECT_GE(checked, 1);
}

TEST(Kernels, SelectPicksBestAndHonoursOverrides) {
  Registry r;
  register_transformer(r);
  const Kernels k = Kernels::select(r);
  EXPECT_EQ(k.chosen.at("attention"), "plain");
  EXPECT_EQ(Kernels::select(r, {{"attention", "plain"}}).chosen.at("attention"), "plain");
  EXPECT_THROW(Kernels::select(r, {{"attention", "nope"}}), Error);
  EXPECT_THROW(k.matmul_for(DType::Q4_1), Error);  // chapter 6 registers it
  EXPECT_NE(k.matmul_for(DType::F16).fn.run, nullptr);
  // The reference of every op is its first-registered variant.
  const Kernels ref = Kernels::reference(r);
  EXPECT_EQ(ref.chosen.at("attention"), "plain");
  EXPECT_EQ(ref.chosen.at("rmsnorm"), "ref");
  EXPECT_EQ(ref.attention.fn, ref.attention.ref);
}

// The backend hands the jobs of one matmul call (q/k/v, gate/up) to their kernel together, so a
// kernel that quantizes its input does it once per call — with or without a prepare step.
namespace {
std::vector<size_t> g_group_sizes;
bool counting_matmul(const ExecContext& ctx, std::span<const MatmulJob> jobs, const float* x,
                     int n) {
  g_group_sizes.push_back(jobs.size());
  return matmul_each<&matmul_ref>(ctx, jobs, x, n);
}
bool keep_tensor(const Tensor& w, PreparedWeight& out) {
  out.packed = std::shared_ptr<const std::byte>(static_cast<const std::byte*>(w.data()),
                                                [](const std::byte*) {});
  return true;
}
}  // namespace

TEST(Backend, JobsOfOneCallReachTheKernelTogether) {
  for (const PrepareFn prepare : {PrepareFn{nullptr}, PrepareFn{&keep_tensor}}) {
    Registry r;
    register_transformer(r);
    r.add({"matmul/f32", "counting", 9, {}, MatmulKernel{&counting_matmul, prepare}, ""});
    CpuBackend backend(Kernels::select(r));
    backend.reserve(2, 16, 4, 4);
    const auto wv = t::random_floats(8 * 16, 5);
    const Tensor w1 = Tensor::from_f32(wv, {8, 16}), w2 = Tensor::from_f32(wv, {8, 16});
    const auto x = t::random_floats(2 * 16, 6);
    std::vector<float> y1(16), y2(16), y3(16);
    const MatmulJob jobs[] = {{backend.prepare(w1), y1.data()},
                              {backend.prepare(w2), y2.data()},
                              {backend.prepare(w1), y3.data()}};
    g_group_sizes.clear();
    backend.matmul(jobs, x.data(), 2);
    EXPECT_EQ(g_group_sizes, std::vector<size_t>{3})
        << (prepare ? "with" : "without") << " prepare";
    EXPECT_EQ(y1, y3);
  }
}
