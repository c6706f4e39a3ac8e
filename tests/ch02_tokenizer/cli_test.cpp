// The `llm tokenize` / `llm detokenize` contracts, by running the built program.
#include <gtest/gtest.h>

#include <fstream>

#include "golden_cases.h"

namespace llm {
namespace {

std::string llm_bin() {
  return testing::bin_dir() + "/llm";
}

// Single-quotes a string for /bin/sh.
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::file_exists(llm_bin()))
      GTEST_SKIP() << llm_bin() << " is not built (cmake --build --target llm)";
  }
  static testing::CommandResult run(const std::string& args) {
    return testing::run_command(quote(llm_bin()) + " " + args + " 2>&1");
  }
};

TEST_F(Cli, TokenizePrintsTheGoldenIds) {
  const std::string gguf = testing::shared_dir() + "/golden/tokenizer/ggml-vocab-llama-spm.gguf";
  if (!testing::require_file(gguf)) GTEST_SKIP() << testing::skip_reason(gguf);
  const auto cases = testing::read_vocab_cases(gguf);
  ASSERT_GT(cases.size(), 45u);
  // Case 45 mixes newlines, tabs, emoji, quotes: through a file, byte for byte.
  const auto& c = cases[45];
  const std::string file = llm::testing::temp_path("ch02_cli_case.txt");
  std::ofstream(file, std::ios::binary) << c.text;
  auto r = run("tokenize --model " + quote(gguf) + " --text-file " + quote(file) + " --no-bos");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, testing::join(c.ids) + "\n");
  // With BOS (the default for this vocabulary), on the command line.
  r = run("tokenize --model " + quote(gguf) + " --text " + quote(cases[17].text));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "1 " + testing::join(cases[17].ids) + "\n");
}

TEST_F(Cli, TokenizeAnyFileKind) {
  const std::string bin = testing::models_dir() + "/tokenizer.bin";
  const std::string json =
      testing::shared_dir() + "/tokenizers/gpt2/tokenizer.from_encoder_json.json";
  if (!testing::require_file(bin)) GTEST_SKIP() << testing::skip_reason(bin);
  if (!testing::require_file(json)) GTEST_SKIP() << testing::skip_reason(json);
  EXPECT_EQ(run("tokenize --model " + quote(bin) + " --text 'Hello world'").out, "1 15043 3186\n");
  EXPECT_EQ(run("tokenize --model " + quote(json) + " --text 'Hello world'").out, "15496 995\n")
      << "GPT-2 adds no BOS";
  EXPECT_EQ(run("detokenize --model " + quote(bin) + " --ids '1 15043 3186'").out, "Hello world\n");
}

TEST_F(Cli, SpecialTokensAreParsedUnlessAskedNotTo) {
  const std::string model = testing::default_model_path();
  if (!testing::require_file(model)) GTEST_SKIP() << testing::skip_reason(model);
  EXPECT_EQ(run("tokenize --model " + quote(model) + " --text '<|im_start|>user'").out, "1 4093\n");
  EXPECT_EQ(
      run("tokenize --model " + quote(model) + " --no-parse-special --text '<|im_start|>'").out,
      "44 108 306 79 3738 108 46\n");
  EXPECT_EQ(run("detokenize --model " + quote(model) + " --ids '1 4093 2' --show-special").out,
            "<|im_start|>user<|im_end|>\n");
}

TEST_F(Cli, ErrorsAreReportedNotCrashes) {
  const std::string bin = testing::models_dir() + "/tokenizer.bin";
  if (!testing::require_file(bin)) GTEST_SKIP() << testing::skip_reason(bin);
  auto r = run("detokenize --model " + quote(bin) + " --ids '1 99999'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("99999"), std::string::npos) << r.out;
  r = run("tokenize --model " + quote(bin));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--text"), std::string::npos) << r.out;
  r = run("tokenize --model /nonexistent.gguf --text x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("/nonexistent.gguf"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace llm
