// SafetensorsFile and Hugging Face checkpoints: dtypes, shards, name mapping, and corrupt
// headers refused with a message naming the field.
#include <gtest/gtest.h>

#include <cstring>

#include "llm/config/error.h"
#include "llm/loading/hf_checkpoint.h"
#include "llm/loading/safetensors.h"
#include "model_files.h"

using namespace llm;
namespace t = llm::testing;
using llm::test10::temp_dir;
namespace fs = std::filesystem;

namespace {

// A safetensors file from a raw JSON header and data bytes.
std::string st(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string parse_error(const std::string& bytes) {
  const std::string path = llm::testing::temp_path("ch10_corrupt.safetensors");
  test10::write_bytes(path, bytes);
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, ReadsF32F16Bf16) {
  const auto v = t::random_floats(6, 5);
  const Tensor f32 = Tensor::from_f32(v, {2, 3});
  std::map<std::string, Tensor> in = {{"a", f32},
                                      {"b", quantize_tensor(f32, DType::F16)},
                                      {"c", quantize_tensor(f32, DType::BF16)}};
  const std::string path = temp_dir("st") + "/x.safetensors";
  test10::write_bytes(path, test10::safetensors_bytes(in));
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const TensorMap m = f.tensors();
  ASSERT_EQ(m.size(), 3u);
  for (const auto& [n, x] : in) {
    EXPECT_EQ(m.at(n).dtype(), x.dtype()) << n;
    EXPECT_EQ(m.at(n).shape(), (Shape{2, 3})) << n;
    EXPECT_EQ(m.at(n).to_f32(), x.to_f32()) << n;
  }
  // Zero copy: every view of the tensor points at the same bytes of the mapping.
  EXPECT_EQ(m.at("a").data(), f.tensors().at("a").data());
}

TEST(Safetensors, ValidHeaderParses) {
  EXPECT_EQ(parse_error(st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                           std::string(8, '\0'))),
            "");
  EXPECT_EQ(
      parse_error(st(
          R"({"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
          std::string(8, '\0'))),
      "");
}

TEST(Safetensors, CorruptFilesNameTheField) {
  auto err = [&](const std::string& header, const std::string& data = std::string(8, '\0')) {
    return parse_error(st(header, data));
  };
  auto has = [](const std::string& msg, const char* what) {
    return msg.find(what) != std::string::npos;
  };
  EXPECT_TRUE(has(parse_error("abc"), "too short"));
  std::string huge(16, '\0');
  huge[7] = 0x10;  // 2^60-byte header
  EXPECT_TRUE(has(parse_error(huge), "100 MB"));
  std::string past(16, '\0');
  past[0] = 100;  // 100-byte header in a 16-byte file
  EXPECT_TRUE(has(parse_error(past), "past the end"));
  EXPECT_TRUE(has(err("{\"a\":"), "not valid JSON"));
  EXPECT_TRUE(has(err("[1,2]"), "JSON object"));
  EXPECT_TRUE(has(err(std::string(100, '[') + std::string(100, ']')), "JSON"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})"), "dtype 'I64'"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}})"), "dimensions"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})"), "dimensions"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})"), "extent"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})"), "non-negative"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})"), "non-negative"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})"),
          "overflow"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}})"),
          "overflow"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})"), "begin after end"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})"), "needs 8"));
  EXPECT_TRUE(
      has(err(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"), "past the end"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})"), "data_offsets"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","shape":[2]}})"), "data_offsets"));
  EXPECT_TRUE(has(err(R"({"a":{"shape":[2],"data_offsets":[0,8]}})"), "'dtype'"));
  EXPECT_TRUE(has(err(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})"), "'shape'"));
  EXPECT_TRUE(has(err(R"({"a":7})"), "tensor 'a'"));
  EXPECT_TRUE(has(err(R"({"__metadata__":{"k":1}})"), "__metadata__"));
  EXPECT_TRUE(has(
      err(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})"),
      "overlaps"));
  EXPECT_TRUE(has(err("{\"a\xff\":1}"), "JSON"));  // invalid UTF-8
}

TEST(Safetensors, TruncatedAtEveryOffsetThrows) {
  std::map<std::string, Tensor> in = {{"w", Tensor::from_f32(t::random_floats(12, 3), {3, 4})}};
  const std::string full = test10::safetensors_bytes(in);
  for (size_t len = 0; len < full.size(); ++len)
    EXPECT_NE(parse_error(full.substr(0, len)), "") << len;
  EXPECT_EQ(parse_error(full), "");
}

TEST(HfNames, MapToLlamaCppNames) {
  EXPECT_EQ(hf_to_gguf_name("model.embed_tokens.weight", "x"), "token_embd.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.12.self_attn.q_proj.weight", "x"),
            "blk.12.attn_q.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.0.self_attn.o_proj.weight", "x"),
            "blk.0.attn_output.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.3.mlp.down_proj.weight", "x"), "blk.3.ffn_down.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.3.post_attention_layernorm.weight", "x"),
            "blk.3.ffn_norm.weight");
  EXPECT_EQ(hf_to_gguf_name("model.norm.weight", "x"), "output_norm.weight");
  EXPECT_EQ(hf_to_gguf_name("lm_head.weight", "x"), "output.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.1.self_attn.rotary_emb.inv_freq", "x"), "");
  EXPECT_THROW(hf_to_gguf_name("model.layers.1.self_attn.q_proj.bias", "x"), Error);
  EXPECT_THROW(hf_to_gguf_name("model.layers.x.self_attn.q_proj.weight", "x"), Error);
  EXPECT_THROW(hf_to_gguf_name("transformer.h.0.attn.c_attn.weight", "x"), Error);
  for (const auto& [n, x] : test10::random_weights(test10::tiny_config(), 1))
    EXPECT_EQ(hf_to_gguf_name(test10::hf_name(n), "x"), n);
}

TEST(HfCheckpoint, SingleFileShardsAndDtypesLoadTheSameWeights) {
  const ModelConfig c = test10::tiny_config(true);
  const TensorMap w = test10::random_weights(c, 9);
  for (DType dt : {DType::F32, DType::F16, DType::BF16})
    for (int shards : {1, 3}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " shards " + std::to_string(shards));
      const std::string dir = temp_dir("hf");
      test10::write_hf_dir(dir, c, test10::convert(w, dt), shards);
      // The directory, the weights file and the index all work as the path.
      for (const std::string& path : {dir, shards == 1 ? dir + "/model.safetensors"
                                                       : dir + "/model.safetensors.index.json"}) {
        const HfCheckpoint hf = open_hf_checkpoint(path);
        EXPECT_EQ(hf.config.rope_layout, RopeLayout::HalfSplit);
        EXPECT_TRUE(hf.config.tied_embeddings);
        ASSERT_EQ(hf.tensors.size(), w.size());
        for (const auto& [n, x] : w) {
          ASSERT_TRUE(hf.tensors.count(n)) << n;
          EXPECT_EQ(hf.tensors.at(n).dtype(), x.shape().ndim >= 2 ? dt : DType::F32) << n;
          EXPECT_EQ(hf.tensors.at(n).to_f32(),
                    test10::convert(TensorMap{{n, x}}, dt).at(n).to_f32())
              << n;
        }
      }
    }
}

TEST(HfCheckpoint, BadIndexAndMissingFilesAreErrors) {
  const ModelConfig c = test10::tiny_config();
  const TensorMap w = test10::random_weights(c, 2);
  const std::string dir = temp_dir("hfbad");
  test10::write_hf_dir(dir, c, w, 2);
  const std::string index = dir + "/model.safetensors.index.json";
  auto expect_error = [&](const std::string& json, const char* what) {
    std::ofstream(index) << json;
    try {
      open_hf_checkpoint(dir);
      ADD_FAILURE() << "no error for " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"weight_map": {"model.norm.weight": "../etc/passwd"}})", "plain file name");
  expect_error(
      R"({"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00001-of-00002.safetensors"}})",
      "does not hold it");
  expect_error(R"({"weight_map": {"model.norm.weight": 3}})", "file name");
  expect_error(R"({"weights": {}})", "weight_map");
  expect_error(R"({"weight_map": {"x": "missing.safetensors"}})", "missing.safetensors");
  fs::remove(index);
  fs::remove(dir + "/config.json");
  EXPECT_THROW(open_hf_checkpoint(dir), Error);  // two .safetensors files and no index
  const std::string one = temp_dir("hfnocfg");
  test10::write_hf_dir(one, c, w, 1);
  fs::remove(one + "/config.json");
  try {
    open_hf_checkpoint(one);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  // Untied config without lm_head.weight.
  const std::string untied = temp_dir("hfuntied");
  TensorMap no_head = w;
  no_head.erase("output.weight");
  test10::write_hf_dir(untied, c, no_head, 1);
  EXPECT_THROW(open_hf_checkpoint(untied), Error);
}
