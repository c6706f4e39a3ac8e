// Token-exact agreement with llama.cpp on its own vocabulary test vectors
// (../shared/golden/tokenizer/ggml-vocab-*.gguf with .inp/.out), plus the llama2.c files that
// hold the same vocabularies.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "golden_cases.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {
namespace {

using testing::read_vocab_cases;

struct VocabSpec {
  const char* name;
  std::set<size_t> known_failures;  // case indices that do not match yet (none today)
};

class GoldenVocab : public ::testing::TestWithParam<VocabSpec> {};

// Encodes every case as test-tokenizer-0 does (no BOS, special tokens not parsed) and returns
// the indices of the cases that differ, reporting each.
std::set<size_t> failing_cases(const Tokenizer& tok, const std::string& gguf_path,
                               const std::set<size_t>& expected_failures, size_t* n_cases) {
  const auto cases = read_vocab_cases(gguf_path);
  *n_cases = cases.size();
  std::set<size_t> failing;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto ids = tok.encode(cases[i].text, {.add_bos = false, .parse_special = false});
    if (ids == cases[i].ids) continue;
    failing.insert(i);
    if (!expected_failures.count(i))
      ADD_FAILURE() << gguf_path << " case " << i << " \"" << testing::printable(cases[i].text)
                    << "\"\n  expected: " << testing::join(cases[i].ids)
                    << "\n  got:      " << testing::join(ids);
  }
  return failing;
}

TEST_P(GoldenVocab, MatchesLlamaCpp) {
  const VocabSpec& spec = GetParam();
  const std::string path =
      testing::shared_dir() + "/golden/tokenizer/ggml-vocab-" + spec.name + ".gguf";
  if (!testing::require_file(path)) GTEST_SKIP() << testing::skip_reason(path);
  const auto tok = load_tokenizer(path);
  size_t n = 0;
  const auto failing = failing_cases(*tok, path, spec.known_failures, &n);
  EXPECT_EQ(n, 46u) << "the .inp file should hold 46 cases";
  std::printf("[ golden   ] %-15s %zu/%zu cases match llama.cpp (%s)\n", spec.name,
              n - failing.size(), n, tok->describe().c_str());
  // Known failures stay visible: listed here, and the test fails if one starts passing.
  EXPECT_EQ(failing, spec.known_failures);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GoldenVocab,
                         ::testing::Values(VocabSpec{"llama-spm", {}}, VocabSpec{"phi-3", {}},
                                           VocabSpec{"gpt-2", {}}, VocabSpec{"starcoder", {}},
                                           VocabSpec{"refact", {}}, VocabSpec{"mpt", {}},
                                           VocabSpec{"falcon", {}}, VocabSpec{"deepseek-llm", {}},
                                           VocabSpec{"deepseek-coder", {}}),
                         [](const auto& info) {
                           std::string s = info.param.name;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

// llama2.c's tokenizer.bin is the Llama-2 vocabulary of ggml-vocab-llama-spm.gguf with spaces
// for "▁": the same inputs must give the same ids.
TEST(GoldenVocab, Llama2cTokenizerBinMatchesLlamaSpm) {
  const std::string bin = testing::models_dir() + "/tokenizer.bin";
  const std::string gguf = testing::shared_dir() + "/golden/tokenizer/ggml-vocab-llama-spm.gguf";
  if (!testing::require_file(bin)) GTEST_SKIP() << testing::skip_reason(bin);
  if (!testing::require_file(gguf)) GTEST_SKIP() << testing::skip_reason(gguf);
  const auto tok = load_tokenizer(bin, 32000);
  EXPECT_EQ(tok->vocab_size(), 32000);
  EXPECT_EQ(load_tokenizer(bin)->vocab_size(), 32000) << "size inferred from the file";
  size_t n = 0;
  const auto failing = failing_cases(*tok, gguf, {}, &n);
  std::printf("[ golden   ] %-15s %zu/%zu cases match llama.cpp's llama-spm ids\n", "tokenizer.bin",
              n - failing.size(), n);
  EXPECT_TRUE(failing.empty());
  EXPECT_EQ(tok->encode("Hello"), (std::vector<int32_t>{1, 15043})) << "BOS by default";
}

// stories260K's vocabulary twice: llama2.c's tok512.bin and the GGUF made from it. llama2.c's
// own prompt ids for "Once upon a time" are in the greedy reference.
TEST(GoldenVocab, Tok512BinAndStoriesGgufAgree) {
  const std::string bin = testing::models_dir() + "/tok512.bin";
  const std::string gguf = testing::models_dir() + "/stories260K-f32.gguf";
  if (!testing::require_file(bin)) GTEST_SKIP() << testing::skip_reason(bin);
  if (!testing::require_file(gguf)) GTEST_SKIP() << testing::skip_reason(gguf);
  const auto a = load_tokenizer(bin, 512);
  const auto b = load_tokenizer(gguf);
  ASSERT_EQ(a->vocab_size(), 512);
  ASSERT_EQ(b->vocab_size(), 512);
  const std::vector<int32_t> once{1, 403, 407, 261, 378};
  EXPECT_EQ(a->encode("Once upon a time"), once);
  EXPECT_EQ(b->encode("Once upon a time"), once);
  for (const auto& c :
       read_vocab_cases(testing::shared_dir() + "/golden/tokenizer/ggml-vocab-llama-spm.gguf"))
    EXPECT_EQ(a->encode(c.text), b->encode(c.text)) << testing::printable(c.text);
}

// llama2.c's greedy story decodes to the text it printed.
TEST(GoldenVocab, Tok512DecodesTheReferenceStory) {
  const std::string bin = testing::models_dir() + "/tok512.bin";
  const std::string ref = testing::shared_dir() + "/golden/models/stories260K.greedy.json";
  if (!testing::require_file(bin)) GTEST_SKIP() << testing::skip_reason(bin);
  if (!testing::require_file(ref)) GTEST_SKIP() << testing::skip_reason(ref);
  const auto tok = load_tokenizer(bin, 512);
  const auto j = nlohmann::json::parse(testing::read_file(ref));
  for (const auto& c : j["cases"]) {
    if (!c.contains("text")) continue;
    std::vector<int32_t> ids = c["prompt_ids"].get<std::vector<int32_t>>();
    for (int32_t id : c["greedy_ids"]) ids.push_back(id);
    EXPECT_EQ(tok->decode(ids), c["text"].get<std::string>());
  }
}

}  // namespace
}  // namespace llm
