// Agreement with Hugging Face `tokenizers`:
//  - the three tokenizer.json files of ../shared/tokenizers against the ids in
//    ../shared/golden/tokenizer-json/golden.json;
//  - GGUF vocabularies against tests/golden/tokenizer_gguf_hf.json (HF tokenizers built from the
//    same GGUF files by tests/golden/make_tokenizer_json_golden.py);
//  - the default model's GGUF against SmolLM2's tokenizer.json ids.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "golden_cases.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {
namespace {

using nlohmann::json;

const std::string kHfGolden = "/golden/tokenizer-json/golden.json";

json load_json(const std::string& path) {
  return json::parse(testing::read_file(path));
}

class HfTokenizerJson : public ::testing::TestWithParam<std::string> {};

TEST_P(HfTokenizerJson, MatchesHuggingFace) {
  const std::string golden_path = testing::shared_dir() + kHfGolden;
  if (!testing::require_file(golden_path)) GTEST_SKIP() << testing::skip_reason(golden_path);
  const json golden = load_json(golden_path);
  const json& spec = golden["tokenizers"][GetParam()];
  const std::string path = testing::shared_dir() + "/tokenizers/" + spec["file"].get<std::string>();
  if (!testing::require_file(path)) GTEST_SKIP() << testing::skip_reason(path);
  const auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), spec["vocab_size_with_added"].get<int32_t>());
  for (const auto& [name, id] : spec["added_tokens"].items()) {
    EXPECT_EQ(tok->find_token(name), id.get<int32_t>()) << name;
    EXPECT_TRUE(tok->is_special(id.get<int32_t>())) << name;
  }
  size_t n = 0, ok = 0;
  for (const auto& [name, r] : spec["results"].items()) {
    const std::string text = golden["texts"][name];
    const auto want = r["ids"].get<std::vector<int32_t>>();
    const auto want_bos = r["ids_add_special_tokens_true"].get<std::vector<int32_t>>();
    // HF always matches added tokens in raw text: parse_special = true.
    const auto ids = tok->encode(text, {.add_bos = false, .parse_special = true});
    EXPECT_EQ(ids, want) << GetParam() << " / " << name;
    EXPECT_EQ(tok->encode(text, {.add_bos = true, .parse_special = true}), want_bos)
        << GetParam() << " / " << name << " with add_special_tokens";
    EXPECT_EQ(tok->decode(want, /*render_special=*/true), r["decoded"].get<std::string>())
        << GetParam() << " / " << name;
    EXPECT_EQ(tok->decode(want), r["decoded_skip_special"].get<std::string>())
        << GetParam() << " / " << name;
    ++n;
    ok += ids == want;
  }
  std::printf("[ golden   ] %-8s tokenizer.json: %zu/%zu texts match HF tokenizers (%s)\n",
              GetParam().c_str(), ok, n, tok->describe().c_str());
}

INSTANTIATE_TEST_SUITE_P(Files, HfTokenizerJson, ::testing::Values("smollm2", "llama2", "gpt2"));

// Our GGUF loader against HF tokenizers built from the same GGUF vocabularies.
TEST(GgufVsHf, SameIdsAsHuggingFaceOnTheSameVocabulary) {
  const json golden = load_json(testing::source_dir() + "/tests/golden/tokenizer_gguf_hf.json");
  size_t vocabularies = 0;
  for (const auto& [name, v] : golden["vocabularies"].items()) {
    const std::string where = v["gguf"];
    const std::string path = where == "default_model"
                                 ? testing::default_model_path()
                                 : testing::shared_dir() + "/" + where.substr(where.find(':') + 1);
    if (!testing::require_file(path)) {
      std::printf("[ skipped  ] %s: %s\n", name.c_str(), testing::skip_reason(path).c_str());
      continue;
    }
    const auto tok = load_tokenizer(path);
    size_t n = 0, ok = 0;
    for (const auto& [text_name, ids] : v["ids"].items()) {
      const std::string text = golden["texts"][text_name];
      const auto got = tok->encode(text, {.add_bos = false, .parse_special = true});
      EXPECT_EQ(got, ids.get<std::vector<int32_t>>()) << name << " / " << text_name;
      EXPECT_EQ(tok->decode(got, /*render_special=*/true), text) << name << " / " << text_name;
      ++n;
      ok += got == ids.get<std::vector<int32_t>>();
    }
    std::printf("[ golden   ] %-22s GGUF vs HF: %zu/%zu texts match\n", name.c_str(), ok, n);
    ++vocabularies;
  }
  EXPECT_GE(vocabularies, 3u);
}

// The default model's own vocabulary (GGUF, pre = "smollm") is SmolLM2's tokenizer.json.
TEST(DefaultModel, GgufTokenizerMatchesSmolLM2Json) {
  const std::string model = testing::default_model_path();
  const std::string golden_path = testing::shared_dir() + kHfGolden;
  if (!testing::require_file(model)) GTEST_SKIP() << testing::skip_reason(model);
  if (!testing::require_file(golden_path)) GTEST_SKIP() << testing::skip_reason(golden_path);
  const auto tok = load_tokenizer(model);
  EXPECT_EQ(tok->vocab_size(), 49152);
  EXPECT_FALSE(tok->adds_bos());
  EXPECT_EQ(tok->find_token("<|im_end|>"), 2);
  const auto stops = tok->stop_ids();
  EXPECT_NE(std::find(stops.begin(), stops.end(), 2), stops.end()) << "<|im_end|> stops";
  const json golden = load_json(golden_path);
  for (const auto& [name, r] : golden["tokenizers"]["smollm2"]["results"].items()) {
    const std::string text = golden["texts"][name];
    EXPECT_EQ(tok->encode(text, {.add_bos = true, .parse_special = true}),
              r["ids"].get<std::vector<int32_t>>())
        << name;
  }
  // And the whole novel gives the same ids through both files.
  const std::string json_path = testing::shared_dir() + "/tokenizers/smollm2/tokenizer.json";
  const std::string novel = testing::shared_dir() + "/texts/pride-and-prejudice.txt";
  if (!testing::require_file(json_path) || !testing::require_file(novel)) return;
  const std::string text = testing::read_file(novel);
  EXPECT_EQ(tok->encode(text), load_tokenizer(json_path)->encode(text));
}

}  // namespace
}  // namespace llm
