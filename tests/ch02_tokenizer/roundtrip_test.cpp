// decode(encode(s)) == s on hard text, for every tokenizer file at hand, and the stream
// decoder never emits half a UTF-8 character.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "golden_cases.h"
#include "llm/tokenizer/tokenizer.h"
#include "llm/tokenizer/unicode.h"

namespace llm {
namespace {

// Valid UTF-8 that stresses the tokenizers. (Not "▁" U+2581: SentencePiece reads it as a space,
// by design, so it cannot come back.)
const std::vector<std::string> kValid = {
    "",
    "a",
    " ",
    "Hello, world!",
    "  leading and trailing spaces  ",
    "tabs\tand\t\ttabs, newlines\n\n\nand CRLF\r\n\r\nlines\r\n",
    "                                                                 many spaces",
    "\n\n\n\n\n\n",
    "中文字符和日本語のテキストと한국어",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 skin tone, 🇫🇷🇩🇪 flags, 😶‍🌫️ face "
    "in "
    "clouds",
    "e\u0301 a\u0308 Cafe\u0301, Z\u0351\u036b\u0343a\u0352l\u0357g\u0311o t\u0337e\u0335x\u0336t",
    "\u00a0nbsp\u2003em\u3000ideographic\u2028line sep\u200bzwsp\u200dzwj\ufeffbom",
    "Ελληνικά, русский, العربية, עברית, हिन्दी, ไทย, ქართული",
    "I'm sure you'll see they've done it; she'd said it's 'quoted' and WE'RE LOUD",
    "3.14159 1,000,000 0x1F 1e-9 ½ ² ٣ 四 ⅷ",
    "def f(x):\n    return {'a': [1, 2, 3]}  # code\n",
    "<|im_start|> <s> </s> <|endoftext|> written as text",
    "\x01\x02\x7f control bytes \x1b[31m ansi \x1b[0m",
    "\U0001F999\U0001F999\U0001F999 \U00010348 \U0002A6D6 astral",
    std::string(3000, 'a'),
    std::string(500, ' ') + "x" + std::string(500, '\n'),
};

// Bytes that are not UTF-8: byte-level BPE and byte fallback must still carry them.
const std::vector<std::string> kInvalid = {
    "\xff\xfe\xfd",
    "trailing lead \xc3",
    "cut \xe2\x82 in the middle",
    "stray \x80\x81 continuation",
    "surrogate \xed\xa0\x80 and overlong \xc0\xaf",
    "\xf4\x90\x80\x80 beyond U+10FFFF, \xf8\x88\x80\x80\x80 5-byte form",
};

struct Named {
  std::string name;
  std::string path;
  int32_t vocab_hint;
};

std::vector<Named> tokenizer_files() {
  const std::string g = testing::shared_dir() + "/golden/tokenizer/ggml-vocab-";
  std::vector<Named> v = {
      {"tokenizer.bin", testing::models_dir() + "/tokenizer.bin", 32000},
      {"tok512.bin", testing::models_dir() + "/tok512.bin", 512},
      {"stories260K.gguf", testing::models_dir() + "/stories260K-f32.gguf", 0},
      {"smollm2.json", testing::shared_dir() + "/tokenizers/smollm2/tokenizer.json", 0},
      {"llama2.json", testing::shared_dir() + "/tokenizers/llama2/tokenizer.json", 0},
      {"gpt2.json", testing::shared_dir() + "/tokenizers/gpt2/tokenizer.from_encoder_json.json", 0},
      {"default-model", testing::default_model_path(), 0},
  };
  for (const char* n : {"llama-spm", "phi-3", "gpt-2", "starcoder", "refact", "mpt", "falcon",
                        "deepseek-llm", "deepseek-coder"})
    v.push_back({n, g + n + ".gguf", 0});
  return v;
}

class RoundTrip : public ::testing::TestWithParam<Named> {
 protected:
  void SetUp() override {
    if (!testing::require_file(GetParam().path))
      GTEST_SKIP() << testing::skip_reason(GetParam().path);
    tok_ = load_tokenizer(GetParam().path, GetParam().vocab_hint);
  }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(RoundTrip, DecodeInvertsEncode) {
  for (const std::string& s : kValid) {
    EXPECT_EQ(tok_->decode(tok_->encode(s)), s) << testing::printable(s);
    EXPECT_EQ(tok_->decode(tok_->encode(s, {.add_bos = false})), s) << testing::printable(s);
  }
}

// Invalid UTF-8 comes back byte for byte where the vocabulary can spell the byte alone. Some
// byte-level vocabularies (SmolLM2, StarCoder, Falcon...) dropped the bytes that never occur in
// UTF-8 (C0, C1, F5..FF): such a byte is skipped, as llama.cpp does. DeepSeek keeps a few of
// them as user-defined tokens that decode to their character ("ÿ" for FF), as llama.cpp too.
TEST_P(RoundTrip, InvalidUtf8ComesBackAsEachByteDoes) {
  std::string alone[256];
  int differ = 0;
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    alone[b] = tok_->decode(tok_->encode(one, {.add_bos = false}));
    differ += alone[b] != one;
  }
  if (differ > 0)
    std::printf("[ note     ] %s: %d of the 256 bytes do not come back alone\n",
                GetParam().name.c_str(), differ);
  for (const std::string& s : kInvalid) {
    std::string want;
    for (char c : s) want += alone[static_cast<uint8_t>(c)];
    EXPECT_EQ(tok_->decode(tok_->encode(s)), want) << testing::printable(s);
  }
}

TEST_P(RoundTrip, SpecialTokensRoundTripWhenRendered) {
  const std::string s = "<|im_start|>user\nHi<|im_end|>\n<s>x</s><|endoftext|>";
  const auto ids = tok_->encode(s, {.add_bos = false, .parse_special = true});
  EXPECT_EQ(tok_->decode(ids, /*render_special=*/true), s);
}

TEST_P(RoundTrip, StreamDecoderEmitsWholeCharacters) {
  for (const auto* set : {&kValid, &kInvalid})
    for (const std::string& s : *set) {
      const auto ids = tok_->encode(s);
      StreamDecoder stream(*tok_);
      std::string joined;
      for (int32_t id : ids) {
        const std::string chunk = stream.push(id);
        if (set == &kValid) {
          EXPECT_TRUE(is_valid_utf8(chunk)) << testing::printable(s);
        }
        joined += chunk;
      }
      joined += stream.flush();
      EXPECT_EQ(joined, tok_->decode(ids)) << testing::printable(s);
    }
}

INSTANTIATE_TEST_SUITE_P(Files, RoundTrip, ::testing::ValuesIn(tokenizer_files()),
                         [](const auto& info) {
                           std::string s = info.param.name;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

TEST(StreamDecoder, HoldsBackAnIncompleteCharacter) {
  // tok512 has byte tokens <0x00>.. at ids 3..258: feed "€" (E2 82 AC) one byte at a time.
  const std::string path = testing::models_dir() + "/tok512.bin";
  if (!testing::require_file(path)) GTEST_SKIP() << testing::skip_reason(path);
  const auto tok = load_tokenizer(path, 512);
  StreamDecoder s(*tok);
  EXPECT_EQ(s.push(3 + 0xE2), "");
  EXPECT_EQ(s.push(3 + 0x82), "");
  EXPECT_EQ(s.push(3 + 0xAC), "€");
  EXPECT_EQ(s.push(3 + 0xE2), "");
  EXPECT_EQ(s.flush(), "\xE2") << "flush gives back what is left";
  EXPECT_EQ(s.push(3 + 0xFF), "\xFF") << "a byte that never starts a character is not held";
}

TEST(Utf8, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
  EXPECT_EQ(utf8_complete_prefix("ab"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x82"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x82\xAC"), 4u);
  EXPECT_EQ(utf8_complete_prefix("a\xF0\x9F\xA6"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\x80"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xC3"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xC0"), 2u) << "C0 can never be valid";
}

}  // namespace
}  // namespace llm
