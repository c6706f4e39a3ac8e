// Chapter 6 against llama.cpp itself: golden/llama_cpp_quants.txt holds what llama.cpp's
// reference quantizers, dequantizers and portable dot products produce on the inputs of
// golden_inputs.h (golden/make_golden.c wrote it). Every quantizer must give the same bytes,
// every dequantizer the same float bits, every dot product the same float bits.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "golden_inputs.h"
#include "llm/config/dtype.h"
#include "llm/quant/codecs.h"
#include "llm/quant/quant_type.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

struct Golden {
  std::map<std::string, std::string> lines;  // "<kind> <type> <case>" -> rest of the line
  bool loaded = false;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    std::ifstream in(t::source_dir() + "/tests/ch06_quant/golden/llama_cpp_quants.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream s(line);
      std::string kind, a, b, rest;
      s >> kind >> a;
      if (kind != "input") s >> b;
      std::getline(s >> std::ws, rest);
      out.lines[kind + " " + a + (b.empty() ? "" : " " + b)] = rest;
      out.loaded = true;
    }
    return out;
  }();
  return g;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string hex_bytes(const std::vector<uint8_t>& b) {
  std::string s;
  char buf[3];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof buf, "%02x", x);
    s += buf;
  }
  return s;
}

struct Codec {
  const char* name;
  DType dtype;
  FromF32Fn quantize;
};
const Codec kCodecs[] = {
    {"q8_0", DType::Q8_0, &quantize_row_q8_0_ref}, {"q4_0", DType::Q4_0, &quantize_row_q4_0_ref},
    {"q4_1", DType::Q4_1, &quantize_row_q4_1_ref}, {"q8_1", DType::Q8_1, &quantize_row_q8_1_ref},
    {"q4_k", DType::Q4_K, &quantize_row_q4_K_ref}, {"q6_k", DType::Q6_K, &quantize_row_q6_K_ref},
    {"q8_k", DType::Q8_K, &quantize_row_q8_K_ref},
};

std::vector<float> inputs(int c, uint64_t seed, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  golden_fill(c, seed, x.data(), n);
  return x;
}

std::vector<uint8_t> quantize(const Codec& codec, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(codec.dtype, static_cast<int64_t>(x.size())));
  codec.quantize(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

class LlamaCpp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!golden().loaded) GTEST_SKIP() << "tests/ch06_quant/golden/llama_cpp_quants.txt is missing";
  }
};

}  // namespace

// If this fails, the inputs differ (compiler or library), not the quantizers.
TEST_F(LlamaCpp, InputsAreTheOnesLlamaCppSaw) {
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    const auto x = inputs(c, 1, GOLDEN_N);
    EXPECT_EQ(hex64(golden_hash(x.data(), x.size() * sizeof(float))),
              golden().lines.at(std::string("input ") + golden_case_names[c]))
        << golden_case_names[c];
  }
}

TEST_F(LlamaCpp, QuantizersAreByteExact) {
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    const auto x = inputs(c, 1, GOLDEN_N);
    for (const Codec& codec : kCodecs) {
      const auto q = quantize(codec, x);
      EXPECT_EQ(hex64(golden_hash(q.data(), q.size())),
                golden().lines.at(std::string("quant ") + codec.name + " " + golden_case_names[c]))
          << codec.name << " on " << golden_case_names[c];
    }
  }
}

// The same on a short input, spelled out in hex: a failure shows which bytes differ.
TEST_F(LlamaCpp, EdgeCaseBytesMatch) {
  const auto x = inputs(3, 1, GOLDEN_BYTES_N);
  for (const Codec& codec : kCodecs)
    EXPECT_EQ(hex_bytes(quantize(codec, x)),
              golden().lines.at(std::string("bytes ") + codec.name + " edge"))
        << codec.name;
}

TEST_F(LlamaCpp, DequantizersAreBitExact) {
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    const auto x = inputs(c, 1, GOLDEN_N);
    for (const QuantType& qt : quant_types()) {
      const std::string name(dtype_name(qt.weight));
      std::vector<uint8_t> q(row_bytes(qt.weight, GOLDEN_N));
      qt.quantize(x.data(), q.data(), GOLDEN_N);
      std::vector<float> y(GOLDEN_N);
      qt.dequantize(q.data(), y.data(), GOLDEN_N);
      EXPECT_EQ(hex64(golden_hash(y.data(), y.size() * sizeof(float))),
                golden().lines.at("dequant " + name + " " + golden_case_names[c]))
          << name << " on " << golden_case_names[c];
    }
  }
}

TEST_F(LlamaCpp, DotProductsAreBitExact) {
  const auto xa = inputs(1, 2, GOLDEN_N);  // activations: the bell shape, seed 2
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    const auto xw = inputs(c, 1, GOLDEN_N);
    for (const QuantType& qt : quant_types()) {
      const std::string name(dtype_name(qt.weight));
      std::vector<uint8_t> w(row_bytes(qt.weight, GOLDEN_N)), a(row_bytes(qt.activation, GOLDEN_N));
      qt.quantize(xw.data(), w.data(), GOLDEN_N);
      qt.quantize_activation(xa.data(), a.data(), GOLDEN_N);
      std::string got;
      for (int r = 0; r < GOLDEN_N / GOLDEN_ROW; ++r) {
        const float s = qt.vec_dot(w.data() + row_bytes(qt.weight, r * GOLDEN_ROW),
                                   a.data() + row_bytes(qt.activation, r * GOLDEN_ROW), GOLDEN_ROW);
        uint32_t bits;
        std::memcpy(&bits, &s, 4);
        char buf[10];
        std::snprintf(buf, sizeof buf, "%s%08x", r ? " " : "", bits);
        got += buf;
      }
      // The 32-value types follow llama.cpp's x86 build (activation quantizer and AVX2 dot
      // order: "xdot" lines, from golden/make_golden_x86.c); the K-quants its portable code.
      const bool x86 = dtype_layout(qt.weight).block_size == 32;
      EXPECT_EQ(got, golden().lines.at((x86 ? "xdot " : "dot ") + name + " " + golden_case_names[c]))
          << name << " on " << golden_case_names[c];
    }
  }
}

// The activation quantizers the matmuls use are llama.cpp's x86 run-time ones ("xact" lines).
TEST_F(LlamaCpp, ActivationQuantizersMatchLlamaCppX86) {
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    const auto x = inputs(c, 1, GOLDEN_N);
    for (const QuantType& qt : quant_types()) {
      if (dtype_layout(qt.weight).block_size != 32) continue;
      std::vector<uint8_t> a(row_bytes(qt.activation, GOLDEN_N));
      qt.quantize_activation(x.data(), a.data(), GOLDEN_N);
      EXPECT_EQ(hex64(golden_hash(a.data(), a.size())),
                golden().lines.at("xact " + std::string(dtype_name(qt.weight)) + " " + golden_case_names[c]))
          << dtype_name(qt.weight) << " on " << golden_case_names[c];
    }
  }
}
