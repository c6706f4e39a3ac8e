#include <gtest/gtest.h>

#include "llm/config/error.h"
#include "llm/config/mapped_file.h"
#include "llm/config/model_config.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

TEST(ModelConfig, FromLlama2cHeader) {
  const std::string path = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const auto f = MappedFile::open(path);
  const ModelConfig c = ModelConfig::from_llama2c_header(f->bytes().first(28), path);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.rope_layout, RopeLayout::Interleaved);
}

TEST(ModelConfig, Llama2cHeaderErrors) {
  int32_t h[7] = {64, 172, 5, 8, 3, -512, 512};  // 8 heads, 3 kv heads: not a GQA grouping
  auto bytes = std::as_bytes(std::span(h));
  EXPECT_THROW(ModelConfig::from_llama2c_header(bytes, "x.bin"), Error);
  h[4] = 4;
  const ModelConfig c = ModelConfig::from_llama2c_header(bytes, "x.bin");
  EXPECT_FALSE(c.tied_embeddings);  // negative vocab: separate classifier
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_THROW(ModelConfig::from_llama2c_header(bytes.first(20), "x.bin"), Error);  // truncated
  h[0] = 0;
  EXPECT_THROW(ModelConfig::from_llama2c_header(bytes, "x.bin"), Error);
}

TEST(ModelConfig, FromHfConfigJson) {
  const std::string text = R"({"model_type":"llama","hidden_size":576,"intermediate_size":1536,
    "num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,"vocab_size":49152,
    "max_position_embeddings":8192,"rope_theta":100000.0,"rms_norm_eps":1e-05,
    "tie_word_embeddings":true})";
  const ModelConfig c = ModelConfig::from_hf_config_text(text, "config.json");
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.kv_dim(), 192);
  EXPECT_FLOAT_EQ(c.rope_theta, 100000.0f);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.rope_layout, RopeLayout::HalfSplit);
  EXPECT_THROW(ModelConfig::from_hf_config_text("{", "c.json"), Error);
  EXPECT_THROW(ModelConfig::from_hf_config_text(R"({"hidden_size":5})", "c.json"), Error);
  try {
    ModelConfig::from_hf_config_text(R"({"hidden_size":"big"})", "c.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos);
  }
}
