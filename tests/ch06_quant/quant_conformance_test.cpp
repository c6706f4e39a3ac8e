// Op conformance in the shape of llama.cpp's test-backend-ops: every registered variant of the
// matmul, to_f32 and vec_dot ops is run against that op's "ref" variant on random data. Today
// "ref" is the only variant of the quantized ops; chapter 8 registers SIMD variants under the
// same op names and this test picks them up without a change.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"
#include "llm/testing/testing.h"
#include "llm/transformer/kernels.h"

using namespace llm;
namespace t = llm::testing;

namespace {

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_quant(reg);
    return reg;
  }();
  return r;
}

// 33 rows (odd, so no kernel can assume a multiple of 2/4/8 rows) of 512 values (a multiple
// of every block size, 32 and 256).
constexpr int kRows = 33, kCols = 512;

Tensor random_weight(DType type, uint64_t seed) {
  return quantize_tensor(Tensor::from_f32(t::random_floats(kRows * kCols, seed), {kRows, kCols}),
                         type);
}

// Variants differ from "ref" in summation order (SIMD lanes, threads) and possibly in how they
// round activations, never in what they compute: an NMSE of 1e-5 leaves room for the first and
// catches any real error (a wrong nibble or scale gives 1e-3 or more). llama.cpp's own
// test-backend-ops allows 5e-4 for mul_mat across backends.
constexpr double kMaxNmse = 1e-5;

}  // namespace

TEST(Conformance, RegisterQuantAddsEveryQuantizedOp) {
  const Registry& r = registry();
  for (const char* type : {"q8_0", "q4_0", "q4_1", "q4_k", "q6_k"}) {
    for (const char* op : {"matmul/", "to_f32/", "from_f32/"})
      EXPECT_NE(r.find(std::string(op) + type, "ref"), nullptr) << op << type;
  }
  for (const char* op :
       {"vec_dot/q8_0_q8_0", "vec_dot/q4_0_q8_0", "vec_dot/q4_1_q8_1", "vec_dot/q4_k_q8_k",
        "vec_dot/q6_k_q8_k", "from_f32/q8_1", "from_f32/q8_k"})
    EXPECT_NE(r.find(op, "ref"), nullptr) << op;
  EXPECT_NE(r.find("matmul/f32", "ref"), nullptr);  // the chain reached chapter 4
}

// The model's kernel table now finds quantized matmuls and decoders.
TEST(Conformance, KernelsSelectPicksThemUp) {
  const Kernels k = Kernels::select(registry());
  for (const QuantType& qt : quant_types()) {
    EXPECT_NE(k.matmul_for(qt.weight).fn.run, nullptr) << dtype_name(qt.weight);
    EXPECT_NE(k.to_f32_for(qt.weight), nullptr) << dtype_name(qt.weight);
  }
}

TEST(Conformance, EveryMatmulVariantMatchesRef) {
  const Registry& r = registry();
  int checked = 0;
  for (const std::string& op : r.ops()) {
    if (!op.starts_with("matmul/")) continue;
    const auto type = dtype_from_name(op.substr(7));
    ASSERT_TRUE(type) << op << " names no dtype";
    const KernelEntry* ref = r.find(op, "ref");
    ASSERT_NE(ref, nullptr) << op << " has no ref variant";
    const Tensor w = random_weight(*type, 100 + static_cast<uint64_t>(*type));
    for (const KernelEntry* v : r.variants(op)) {
      if (!v->usable()) {
        std::cout << "[ skipped  ] " << v->name() << " (not available on this CPU)\n";
        continue;
      }
      const auto kernel = Registry::cast<MatmulKernel>(*v);
      PreparedWeight pw, pref;
      pw.tensor = pref.tensor = w;
      ASSERT_TRUE(!kernel.prepare || kernel.prepare(w, pw)) << v->name() << " declined";
      for (int n : {1, 3, 17}) {
        const auto x = t::random_floats(static_cast<size_t>(n) * kCols, 7 + n);
        std::vector<float> want(static_cast<size_t>(n) * kRows), got(want.size());
        std::vector<std::byte> shared(static_cast<size_t>(n) * kCols * 2 + 4096);
        ExecContext ctx;
        ctx.shared = shared.data();
        ctx.shared_bytes = shared.size();
        const MatmulJob jw{&pw, got.data()}, jr{&pref, want.data()};
        ASSERT_TRUE(Registry::cast<MatmulKernel>(*ref).run(ctx, {&jr, 1}, x.data(), n));
        ASSERT_TRUE(kernel.run(ctx, {&jw, 1}, x.data(), n)) << v->name();
        EXPECT_LE(t::nmse(got, want), kMaxNmse) << v->name() << " n=" << n;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 3 * 8);  // at least f32, f16, bf16 and the five quantized types
}

TEST(Conformance, EveryDecoderVariantMatchesRef) {
  const Registry& r = registry();
  for (const std::string& op : r.ops()) {
    if (!op.starts_with("to_f32/")) continue;
    const auto type = dtype_from_name(op.substr(7));
    ASSERT_TRUE(type) << op;
    const Tensor w = random_weight(*type, 200);
    std::vector<float> want(kCols), got(kCols);
    Registry::cast<ToF32Fn> (*r.find(op, "ref"))(w.row(5), want.data(), kCols);
    for (const KernelEntry* v : r.variants(op)) {
      if (!v->usable()) continue;
      Registry::cast<ToF32Fn> (*v)(w.row(5), got.data(), kCols);
      EXPECT_LE(t::nmse(got, want), 1e-12) << v->name();  // elementwise: at most an ulp apart
    }
  }
}

TEST(Conformance, EveryVecDotVariantMatchesRef) {
  const Registry& r = registry();
  for (const QuantType& qt : quant_types()) {
    const std::string op = "vec_dot/" + std::string(dtype_name(qt.weight)) + "_" +
                           std::string(dtype_name(qt.activation));
    const KernelEntry* ref = r.find(op, "ref");
    ASSERT_NE(ref, nullptr) << op;
    const Tensor w = random_weight(qt.weight, 300);
    std::vector<std::byte> xq(row_bytes(qt.activation, kCols));
    std::vector<float> want, got;
    for (int row = 0; row < kRows; ++row) {
      const auto x = t::random_floats(kCols, 400 + static_cast<uint64_t>(row));
      qt.quantize_activation(x.data(), xq.data(), kCols);
      want.push_back(Registry::cast<VecDotFn>(*ref)(w.row(row), xq.data(), kCols));
    }
    for (const KernelEntry* v : r.variants(op)) {
      if (!v->usable()) continue;
      got.clear();
      for (int row = 0; row < kRows; ++row) {
        const auto x = t::random_floats(kCols, 400 + static_cast<uint64_t>(row));
        qt.quantize_activation(x.data(), xq.data(), kCols);
        got.push_back(Registry::cast<VecDotFn>(*v)(w.row(row), xq.data(), kCols));
      }
      EXPECT_LE(t::nmse(got, want), 1e-10) << v->name();  // same integers, other float order
    }
  }
}
