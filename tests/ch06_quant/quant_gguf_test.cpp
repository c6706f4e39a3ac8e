// Blocks from a real GGUF file: the default model (SmolLM2-135M-Instruct, Q4_1 with a Q8_0
// token embedding, written by llama.cpp). Dequantizing a block and quantizing it again with
// our reference quantizer must give back the file's bytes, wherever llama.cpp's quantizer is
// idempotent on its own output. The tensor infos are parsed here directly (the layout is in
// formats.md); chapter 10 has the real loader.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "llm/config/byte_reader.h"
#include "llm/config/gguf_metadata.h"
#include "llm/quant/quant_type.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> extents;  // innermost first, as GGUF lists them
  uint32_t type = 0;
  uint64_t offset = 0;  // from the start of the data section
};

struct GgufTensors {
  GgufMetadata meta;
  std::vector<TensorInfo> infos;
  const std::byte* data = nullptr;  // the data section
};

GgufTensors read_tensors(const std::string& path) {
  GgufTensors g{GgufMetadata::load(path), {}, nullptr};
  ByteReader r(g.meta.file()->bytes(), path);
  r.seek(g.meta.tensor_infos_offset(), "tensor infos");
  for (uint64_t i = 0; i < g.meta.tensor_count(); ++i) {
    TensorInfo info;
    info.name = GgufMetadata::read_string(r, "tensor name");
    const auto n_dims = r.read<uint32_t>("n_dims");
    for (uint32_t d = 0; d < n_dims; ++d) info.extents.push_back(r.read<uint64_t>("extent"));
    info.type = r.read<uint32_t>("type");
    info.offset = r.read<uint64_t>("offset");
    g.infos.push_back(info);
  }
  const uint64_t align = static_cast<uint64_t>(g.meta.opt_int("general.alignment").value_or(32));
  const uint64_t start = (r.offset() + align - 1) / align * align;
  g.data = g.meta.file()->data() + start;
  return g;
}

struct Requantized {
  int64_t blocks = 0;
  int64_t differing = 0;
};

// Dequantizes every block of `info` and quantizes it again; counts blocks whose bytes change.
Requantized requantize(const GgufTensors& g, const TensorInfo& info, const QuantType& qt) {
  const DTypeLayout& l = dtype_layout(qt.weight);
  uint64_t n = 1;
  for (uint64_t e : info.extents) n *= e;
  const auto* p = reinterpret_cast<const uint8_t*>(g.data + info.offset);
  std::vector<float> x(static_cast<size_t>(l.block_size));
  std::vector<uint8_t> q(static_cast<size_t>(l.block_bytes));
  Requantized out;
  for (uint64_t b = 0; b < n / static_cast<uint64_t>(l.block_size); ++b, p += l.block_bytes) {
    qt.dequantize(p, x.data(), l.block_size);
    qt.quantize(x.data(), q.data(), l.block_size);
    ++out.blocks;
    if (std::memcmp(q.data(), p, q.size()) != 0) ++out.differing;
  }
  return out;
}

}  // namespace

TEST(GgufBlocks, DefaultModelRoundTripsByteForByte) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const GgufTensors g = read_tensors(path);

  // Q8_0 is idempotent: the decoded block's amax is exactly 127·D, so d comes back as D, and
  // q·D·(1/D) is within 127 ulps of q, far from a rounding boundary.
  const TensorInfo* embd = nullptr;
  for (const TensorInfo& i : g.infos)
    if (i.name == "token_embd.weight") embd = &i;
  ASSERT_NE(embd, nullptr);
  ASSERT_EQ(embd->type, static_cast<uint32_t>(DType::Q8_0));
  const Requantized e = requantize(g, *embd, *find_quant_type(DType::Q8_0));
  EXPECT_EQ(e.blocks, 49152 * 576 / 32);
  EXPECT_EQ(e.differing, 0);

  // Q4_1: every Q4_1 tensor in the file. A decoded block has min = M exactly (level 0) and
  // max = 15·D + M, so d is recomputed as ((15·D + M) − M)/15, which can miss D by an ulp of
  // f32 — invisible after rounding to fp16 — and then (v − M)·(1/d) + 0.5 lands within a few
  // ulps of an integer + 0.5 and truncates back to the same level. Observed on all 3,317,760
  // blocks of this model: a block that re-quantized differently would mean the file was written
  // by another quantizer (e.g. with an importance matrix) or that ours has drifted.
  Requantized total;
  int tensors = 0;
  for (const TensorInfo& i : g.infos) {
    if (i.type != static_cast<uint32_t>(DType::Q4_1)) continue;
    const Requantized r = requantize(g, i, *find_quant_type(DType::Q4_1));
    total.blocks += r.blocks;
    total.differing += r.differing;
    ++tensors;
  }
  EXPECT_EQ(tensors, 210);
  EXPECT_EQ(total.blocks, 3'317'760);
  EXPECT_EQ(total.differing, 0) << "of " << total.blocks << " Q4_1 blocks";
}
