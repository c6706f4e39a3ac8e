#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "llm/config/error.h"
#include "llm/config/gguf_metadata.h"
#include "llm/config/model_config.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

TEST(GgufMetadata, ReadsStories260K) {
  const std::string path = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const auto m = GgufMetadata::load(path);
  EXPECT_EQ(m.version(), 3u);
  EXPECT_EQ(m.get_string("general.architecture"), "llama");
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(m.get_strings("tokenizer.ggml.tokens").size(), 512u);
  EXPECT_EQ(m.get_numbers("tokenizer.ggml.scores").size(), 512u);
  const ModelConfig c = ModelConfig::from_gguf(m);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_seq_len, 512);
  EXPECT_THROW(m.get_int("general.architecture"), Error);  // wrong type names the key
  EXPECT_THROW(m.get_string("no.such.key"), Error);
}

TEST(GgufMetadata, ReadsEveryGoldenVocabulary) {
  for (const char* name : {"llama-spm", "phi-3", "gpt-2", "starcoder", "refact", "mpt", "falcon",
                           "deepseek-llm", "deepseek-coder", "gpt-neox"}) {
    const std::string path = t::shared_dir() + "/golden/tokenizer/ggml-vocab-" + name + ".gguf";
    if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
    const auto m = GgufMetadata::load(path);
    EXPECT_GT(m.get_strings("tokenizer.ggml.tokens").size(), 1000u) << name;
    EXPECT_TRUE(m.opt_string("tokenizer.ggml.model").has_value()) << name;
  }
}

// Every prefix of a real file either parses (it is long enough) or throws llm::Error.
TEST(GgufMetadata, TruncatedFilesThrowCleanly) {
  const std::string path = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const std::string bytes = t::read_file(path);
  const auto full = GgufMetadata::load(path);
  const size_t meta_end = full.tensor_infos_offset();
  const std::string tmp = llm::testing::temp_path("truncated.gguf");
  for (size_t len = 0; len < meta_end; len += (len < 64 ? 1 : 97)) {
    std::ofstream(tmp, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    EXPECT_THROW(GgufMetadata::load(tmp), Error) << "prefix of " << len << " bytes";
  }
}

TEST(GgufMetadata, CorruptHeadersThrowCleanly) {
  const std::string tmp = llm::testing::temp_path("corrupt.gguf");
  auto write = [&](const std::string& s) {
    std::ofstream(tmp, std::ios::binary).write(s.data(), static_cast<std::streamsize>(s.size()));
  };
  auto le = [](uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
  };
  write("GGUX" + le(3, 4) + le(0, 8) + le(0, 8));
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  write("GGUF" + le(1, 4) + le(0, 8) + le(0, 8));  // v1 is obsolete
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  write("GGUF" + le(3, 4) + le(0, 8) + le(~0ull, 8));  // absurd kv count
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  write("GGUF" + le(3, 4) + le(1ull << 40, 8) + le(0, 8));  // absurd tensor count
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  // A string whose length runs past the end of the file.
  write("GGUF" + le(3, 4) + le(0, 8) + le(1, 8) + le(1ull << 62, 8) + "key");
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  // An array of 2^60 u32 elements in a tiny file: refused before any allocation.
  write("GGUF" + le(3, 4) + le(0, 8) + le(1, 8) + le(1, 8) + "k" + le(9, 4) + le(4, 4) +
        le(1ull << 60, 8));
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  // An unknown value type.
  write("GGUF" + le(3, 4) + le(0, 8) + le(1, 8) + le(1, 8) + "k" + le(99, 4));
  EXPECT_THROW(GgufMetadata::load(tmp), Error);
  // A well-formed file parses, and typed getters check types.
  write("GGUF" + le(3, 4) + le(0, 8) + le(2, 8) + le(1, 8) + "a" + le(4, 4) + le(7, 4) + le(1, 8) +
        "b" + le(9, 4) + le(8, 4) + le(2, 8) + le(2, 8) + "hi" + le(0, 8));
  const auto m = GgufMetadata::load(tmp);
  EXPECT_EQ(m.get_int("a"), 7);
  EXPECT_EQ(m.get_strings("b"), (std::vector<std::string>{"hi", ""}));
  EXPECT_THROW(m.get_bool("a"), Error);
}
