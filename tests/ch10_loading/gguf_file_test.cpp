// GgufFile and GgufWriter: round trips of every dtype and metadata type, the real files, and
// corrupt files refused with a message naming the field.
#include <gtest/gtest.h>

#include <cstring>

#include "llm/config/error.h"
#include "llm/loading/gguf_file.h"
#include "llm/loading/gguf_writer.h"
#include "model_files.h"

using namespace llm;
namespace t = llm::testing;
using llm::test10::temp_dir;

namespace {

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
std::string gstr(const std::string& s) {
  return le(s.size(), 8) + s;
}

// A GGUF file with no metadata and the given tensor-info bytes, then `data`.
std::string raw_gguf(uint64_t n_tensors, const std::string& infos, const std::string& data,
                     const std::string& kv = "", uint64_t n_kv = 0) {
  std::string f = "GGUF" + le(3, 4) + le(n_tensors, 8) + le(n_kv, 8) + kv + infos;
  while (f.size() % 32) f += '\0';
  return f + data;
}
std::string info(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t off) {
  std::string s = gstr(name) + le(ne.size(), 4);
  for (uint64_t e : ne) s += le(e, 8);
  return s + le(type, 4) + le(off, 8);
}

// Parses bytes written to a temp file; returns the llm::Error message ("" when it parsed).
std::string parse_error(const std::string& bytes) {
  const std::string path = llm::testing::temp_path("ch10_corrupt.gguf");
  test10::write_bytes(path, bytes);
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(GgufFile, RoundTripsEveryDtype) {
  const ModelConfig c = test10::tiny_config();
  const TensorMap w = test10::random_weights(c, 1);
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                   DType::Q4_K, DType::Q6_K}) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    // Q4_K/Q6_K need rows of 256: use a 256-column tensor for those.
    TensorMap src;
    if (dt == DType::Q4_K || dt == DType::Q6_K) {
      const auto v = t::random_floats(4 * 256, 7);
      src["x.weight"] = quantize_tensor(Tensor::from_f32(v, {4, 256}), dt);
    } else {
      src = test10::convert(w, dt);
    }
    const std::string path = temp_dir("rt") + "/m.gguf";
    test10::gguf_model(c, src).write(path);
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.tensor_infos().size(), src.size());
    EXPECT_EQ(f.data_offset() % 32, 0u);
    for (const auto& [name, x] : f.tensors()) {
      const Tensor& ref = src.at(name);
      ASSERT_EQ(x.shape(), ref.shape()) << name;
      ASSERT_EQ(x.dtype(), ref.dtype()) << name;
      ASSERT_EQ(0, std::memcmp(x.data(), ref.data(), ref.nbytes())) << name;
    }
  }
}

TEST(GgufFile, TensorsBorrowTheMapping) {
  const ModelConfig c = test10::tiny_config();
  const std::string path = temp_dir("borrow") + "/m.gguf";
  test10::gguf_model(c, test10::random_weights(c, 2)).write(path);
  const GgufFile f = GgufFile::open(path);
  const auto* base = f.metadata().file()->data();
  const GgufTensorInfo* info = f.find("blk.1.attn_q.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->shape, (Shape{64, 64}));
  const Tensor x = f.tensor(*info);
  EXPECT_EQ(static_cast<const std::byte*>(x.data()), base + f.data_offset() + info->offset);
}

TEST(GgufWriter, MetadataOfEveryTypeRoundTrips) {
  GgufWriter w(64);
  w.set_u32("u32", 4000000000u);
  w.set_i32("i32", -7);
  w.set_u64("u64", 1ull << 60);
  w.set_f32("f32", 0.25f);
  w.set_bool("bool", true);
  w.set_string("str", "héllo\n");
  w.set_strings("strs", {"a", "", "ß c"});
  w.set_array("i8s", GgufType::I8, {-1, 2, -128});
  w.set_array("u16s", GgufType::U16, {65535, 0});
  w.set_array("f64s", GgufType::F64, {0.1, -2.5});
  GgufValue nested;
  nested.type = GgufType::ARRAY;
  nested.elem_type = GgufType::ARRAY;
  GgufValue inner;
  inner.type = GgufType::ARRAY;
  inner.elem_type = GgufType::I32;
  inner.numbers = {1, -2};
  nested.nested = {inner, inner};
  w.set("nested", nested);
  w.set_string("str", "replaced");  // setting twice replaces
  w.add_tensor("t", Tensor::from_f32(std::vector<float>{1, 2, 3}, {3}));
  const std::string path = temp_dir("meta") + "/m.gguf";
  w.write(path);

  const GgufFile f = GgufFile::open(path);
  const GgufMetadata& m = f.metadata();
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(m.get_int("u32"), 4000000000);
  EXPECT_EQ(m.get_int("i32"), -7);
  EXPECT_EQ(m.get_int("u64"), int64_t{1} << 60);
  EXPECT_EQ(m.get_float("f32"), 0.25);
  EXPECT_TRUE(m.get_bool("bool"));
  EXPECT_EQ(m.get_string("str"), "replaced");
  EXPECT_EQ(m.get_strings("strs"), (std::vector<std::string>{"a", "", "ß c"}));
  EXPECT_EQ(m.get_numbers("i8s"), (std::vector<double>{-1, 2, -128}));
  EXPECT_EQ(m.get_numbers("u16s"), (std::vector<double>{65535, 0}));
  EXPECT_EQ(m.get_numbers("f64s"), (std::vector<double>{0.1, -2.5}));
  ASSERT_EQ(m.find("nested")->nested.size(), 2u);
  EXPECT_EQ(m.find("nested")->nested[1].numbers, (std::vector<double>{1, -2}));
  EXPECT_EQ(f.tensors().at("t").to_f32(), (std::vector<float>{1, 2, 3}));
}

TEST(GgufFile, Stories260KEqualsTheLlama2cCheckpoint) {
  const std::string gguf = t::models_dir() + "/stories260K-f32.gguf";
  const std::string bin = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(gguf)) GTEST_SKIP() << t::skip_reason(gguf);
  if (!t::require_file(bin)) GTEST_SKIP() << t::skip_reason(bin);
  const GgufFile f = GgufFile::open(gguf);
  EXPECT_EQ(f.tensor_infos().size(), 48u);  // 9 per layer × 5 + embedding, norm, classifier
  ModelConfig c = ModelConfig::from_gguf(f.metadata());
  const Model from_gguf = Model::from_tensors(c, f.tensors(), gguf);
  const Model from_bin = load_llama2c(bin);
  test10::expect_same_weights(from_gguf, from_bin);  // bit for bit
  EXPECT_EQ(from_gguf.config.dim, from_bin.config.dim);
  EXPECT_EQ(from_gguf.config.hidden_dim, 172);
}

TEST(GgufFile, DefaultModel) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.tensor_infos().size(), 272u);
  std::map<DType, int> count;
  for (const GgufTensorInfo& i : f.tensor_infos()) ++count[i.dtype];
  EXPECT_EQ(count[DType::Q4_1], 210);  // 7 matrices × 30 layers
  EXPECT_EQ(count[DType::Q8_0], 1);    // token_embd, tied to the classifier
  EXPECT_EQ(count[DType::F32], 61);    // norms
  EXPECT_EQ(f.find("token_embd.weight")->dtype, DType::Q8_0);
  EXPECT_EQ(f.find("token_embd.weight")->shape, (Shape{49152, 576}));
  EXPECT_EQ(f.find("blk.0.ffn_down.weight")->shape, (Shape{576, 1536}));
  EXPECT_EQ(f.find("output.weight"), nullptr);
  const Tensor emb = f.tensors().at("token_embd.weight");
  EXPECT_EQ(emb.row_stride(), 576u / 32 * 34);
}

// Every prefix of a small valid file is either refused with llm::Error or (the full file)
// parsed; never a crash or a read past the end (run under the asan preset).
TEST(GgufFile, TruncatedAtEveryOffsetThrows) {
  const ModelConfig c = test10::tiny_config();
  const std::string full =
      test10::gguf_model(c, test10::convert(test10::random_weights(c, 3), DType::Q4_0)).to_string();
  size_t step = 1;
  for (size_t len = 0; len < full.size(); len += step) {
    if (len > 2048) step = 97;
    EXPECT_NE(parse_error(full.substr(0, len)), "") << "prefix of " << len << " bytes";
  }
  EXPECT_EQ(parse_error(full), "");
}

TEST(GgufFile, CorruptFilesNameTheField) {
  const std::string f32x4(16, '\0');
  EXPECT_EQ(parse_error(raw_gguf(1, info("a", {4}, 0, 0), std::string(32, '\0'))), "");
  EXPECT_NE(parse_error("GGUX" + le(3, 4) + le(0, 8) + le(0, 8)).find("magic"), std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {4, 1, 1, 1, 1}, 0, 0), f32x4)).find("n_dims"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {}, 0, 0), f32x4)).find("n_dims"), std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {0}, 0, 0), f32x4)).find("extent"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {~0ull}, 0, 0), f32x4)).find("extent"),
            std::string::npos);
  // 2^32 × 2^32 elements: the product overflows before any size is computed.
  EXPECT_NE(
      parse_error(raw_gguf(1, info("a", {1ull << 32, 1ull << 32}, 0, 0), f32x4)).find("overflow"),
      std::string::npos);
  // 2^62 f32 values: the element count fits, the byte size does not.
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {1ull << 62}, 0, 0), f32x4)).find("overflow"),
            std::string::npos);
  const std::string iq = parse_error(raw_gguf(1, info("w", {32}, 16, 0), f32x4));
  EXPECT_NE(iq.find("iq2_xxs"), std::string::npos) << iq;
  EXPECT_NE(iq.find("'w'"), std::string::npos) << iq;
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {4}, 99, 0), f32x4)).find("type 99"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {4}, 9, 0), f32x4)).find("q8_1"), std::string::npos);
  EXPECT_NE(
      parse_error(raw_gguf(1, info("a", {33}, 8, 0), std::string(64, '\0'))).find("multiple of 32"),
      std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {4}, 0, 8), std::string(64, '\0'))).find("alignment"),
            std::string::npos);
  EXPECT_NE(
      parse_error(raw_gguf(1, info("a", {4}, 0, 32), std::string(32, '\0'))).find("past the end"),
      std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1, info("a", {16}, 0, ~0ull - 31), f32x4)).find("overflow"),
            std::string::npos);
  EXPECT_NE(
      parse_error(raw_gguf(2, info("a", {4}, 0, 0) + info("a", {4}, 0, 32), std::string(64, '\0')))
          .find("duplicate"),
      std::string::npos);
  EXPECT_NE(
      parse_error(raw_gguf(2, info("a", {16}, 0, 0) + info("b", {4}, 0, 32), std::string(64, '\0')))
          .find("overlaps"),
      std::string::npos);
  EXPECT_NE(parse_error(raw_gguf(1ull << 40, "", "")).find("tensor_count"), std::string::npos);
  // general.alignment: not a power of two, zero, or of a non-integer type.
  auto with_alignment = [&](uint32_t type, const std::string& value) {
    return raw_gguf(1, info("a", {4}, 0, 0), std::string(64, '\0'),
                    gstr("general.alignment") + le(type, 4) + value, 1);
  };
  EXPECT_NE(parse_error(with_alignment(4, le(48, 4))).find("power of two"), std::string::npos);
  EXPECT_NE(parse_error(with_alignment(4, le(0, 4))).find("power of two"), std::string::npos);
  EXPECT_NE(parse_error(with_alignment(8, gstr("32"))).find("general.alignment"),
            std::string::npos);
  EXPECT_EQ(parse_error(with_alignment(4, le(16, 4))), "");
}

TEST(GgufFile, MisalignedDataIsCopiedNotReadInPlace) {
  // general.alignment = 1 is legal; a float tensor at an odd address is copied once.
  GgufWriter w(1);
  w.add_tensor("b", Tensor::from_f32(std::vector<float>{1, 2, 3}, {3}));
  w.add_tensor(
      "c", quantize_tensor(Tensor::from_f32(std::vector<float>{1, 2, 3, 4, 5}, {5}), DType::F16));
  w.add_tensor("a", Tensor::from_f32(std::vector<float>{4, 5}, {2}));
  const std::string path = temp_dir("align1") + "/m.gguf";
  w.write(path);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.alignment(), 1u);
  const TensorMap m = f.tensors();
  EXPECT_EQ(m.at("a").to_f32(), (std::vector<float>{4, 5}));
  EXPECT_EQ(m.at("b").to_f32(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(m.at("c").to_f32(), (std::vector<float>{1, 2, 3, 4, 5}));
  for (const auto& [n, x] : m) EXPECT_EQ(reinterpret_cast<uintptr_t>(x.data()) % 2, 0u) << n;
}
