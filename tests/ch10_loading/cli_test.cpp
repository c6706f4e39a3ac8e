// `llm info` and `llm quantize`, run as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>

#include "llm/loading/load_model.h"
#include "model_files.h"

using namespace llm;
namespace t = llm::testing;
using llm::test10::temp_dir;

namespace {

t::CommandResult llm_cmd(const std::string& args) {
  return t::run_llm(args, true);
}

}  // namespace

TEST(LlmInfo, DescribesAGgufFile) {
  const std::string path = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const auto r = llm_cmd("info --model " + path + " --tensors");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* want :
       {"format: gguf v3", "dim 64, hidden 172, layers 5, heads 8/4",
        "tensors: 48, 292,800 parameters", "f32     48 tensors", "blk.4.ffn_down.weight",
        "[64, 172]", "tokenizer: sentencepiece BPE, 512 tokens", "chat template: none"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(LlmInfo, DescribesSyntheticModelsInEveryFormat) {
  const ModelConfig c = test10::tiny_config();
  const TensorMap w = test10::random_weights(c, 8);
  const std::string dir = temp_dir("cli_info");
  test10::write_hf_dir(dir + "/hf", c, test10::convert(w, DType::BF16), 2);
  test10::write_llama2c(dir + "/m.bin", c, w);
  auto r = llm_cmd("info --model " + dir + "/hf");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("format: safetensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("half-split"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bf16    16 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokenizer: none"), std::string::npos) << r.out;
  r = llm_cmd("info --model " + dir + "/m.bin");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("format: llama2.c"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--tokenizer"), std::string::npos) << r.out;
  r = llm_cmd("info --model " + dir + "/missing.gguf");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("missing.gguf"), std::string::npos) << r.out;
}

TEST(LlmInfo, DefaultModel) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const auto r = llm_cmd("info --model " + path);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* want :
       {"tensors: 272", "q4_1   210 tensors", "q8_0     1 tensors", "f32     61 tensors",
        "tied embeddings", "49152 tokens", "pre-tokenizer 'smollm'", "<|im_start|>"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(LlmQuantize, Stories260KToQ8_0) {
  const std::string path = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const std::string out = temp_dir("cli_q") + "/s-q8_0.gguf";
  const auto r = llm_cmd("quantize --in " + path + " --out " + out + " --type q8_0");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("f32 -> q8_0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fallback f16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("48 tensors (32 quantized, 5 fallbacks)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokenizer: included"), std::string::npos) << r.out;
  const LoadedModel m = load_model(out);
  EXPECT_EQ(m.model->layers[0].wq.dtype(), DType::Q8_0);
  EXPECT_EQ(m.model->layers[0].w_down.dtype(), DType::F16);
  EXPECT_EQ(m.model->output.dtype(), DType::Q8_0);
  ASSERT_NE(m.tokenizer, nullptr);
  // The output describes itself.
  const auto info = llm_cmd("info --model " + out);
  EXPECT_NE(info.out.find("q8_0    32 tensors"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("(file type 7)"), std::string::npos) << info.out;
}

// The input is memory-mapped: the same file under another spelling of its path must be refused
// (before, `--out ./m.gguf` passed a string comparison, truncated the input and crashed), and
// the input must be intact afterwards. The type may be spelt as llama-quantize spells it.
TEST(LlmQuantize, RefusesToOverwriteItsInputUnderAnyName) {
  const std::string src = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(src)) GTEST_SKIP() << t::skip_reason(src);
  const std::string dir = temp_dir("cli_same");
  const std::string in = dir + "/m.gguf";
  std::filesystem::copy_file(src, in);
  std::filesystem::create_symlink(in, dir + "/link.gguf");
  const auto size = std::filesystem::file_size(in);
  for (const std::string& out :
       {dir + "/./m.gguf",
        dir + "/../" + std::filesystem::path(dir).filename().string() + "/m.gguf",
        dir + "/link.gguf"}) {
    const auto r = llm_cmd("quantize --in " + in + " --out " + out + " --type Q8_0");
    EXPECT_EQ(r.status, 1) << out << "\n" << r.out;
    EXPECT_NE(r.out.find("same file"), std::string::npos) << r.out;
    EXPECT_EQ(std::filesystem::file_size(in), size);
  }
  const auto r = llm_cmd("quantize --in " + in + " --out " + dir + "/q.gguf --type Q8_0 --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/q.gguf.part"));
  EXPECT_NE(llm_cmd("info --model " + dir + "/q.gguf").out.find("q8_0"), std::string::npos);
}

TEST(LlmQuantize, RefusesBadArguments) {
  const std::string dir = temp_dir("cli_bad");
  auto r = llm_cmd("quantize --in x.gguf --out y.gguf --type q5_0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--type"), std::string::npos) << r.out;
  r = llm_cmd("quantize --in a.gguf --out a.gguf --type q8_0");
  EXPECT_EQ(r.status, 1);
  r = llm_cmd("quantize --in " + dir + "/none.gguf --out " + dir + "/o.gguf --type q4_0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("none.gguf"), std::string::npos) << r.out;
  r = llm_cmd("quantize --in a --type q4_0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--out"), std::string::npos) << r.out;
}
