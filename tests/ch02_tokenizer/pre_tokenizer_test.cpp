// The hand-written pre-tokenizers against what their regular expressions match, and the
// Unicode classes they rest on.
#include <gtest/gtest.h>

#include "llm/config/error.h"
#include "llm/tokenizer/pre_tokenizer.h"
#include "llm/tokenizer/unicode.h"

namespace llm {
namespace {

std::vector<std::string> words(std::string_view pre, std::string_view text) {
  std::vector<size_t> ends;
  PreTokenizer::by_name(pre).split(text, ends);
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t e : ends) {
    out.emplace_back(text.substr(b, e - b));
    b = e;
  }
  return out;
}

using W = std::vector<std::string>;

TEST(Gpt2Pattern, LettersNumbersAndOthersTakeOneLeadingSpace) {
  EXPECT_EQ(words("gpt-2", "Hello world"), (W{"Hello", " world"}));
  EXPECT_EQ(words("gpt-2", "abc123 x!? 42"), (W{"abc", "123", " x", "!?", " 42"}));
  EXPECT_EQ(words("gpt-2", "ünïcödé Кириллица 中文"), (W{"ünïcödé", " Кириллица", " 中文"}));
  EXPECT_EQ(words("gpt-2", " ... !!!"), (W{" ...", " !!!"}));
}

TEST(Gpt2Pattern, Contractions) {
  EXPECT_EQ(words("gpt-2", "I'm they'll we've you'd it's"),
            (W{"I", "'m", " they", "'ll", " we", "'ve", " you", "'d", " it", "'s"}));
  EXPECT_EQ(words("gpt-2", "IT'S 'sa"), (W{"IT", "'", "S", " '", "sa"})) << "lower case only";
}

TEST(Gpt2Pattern, WhitespaceRunsLeaveOneSpaceForTheNextWord) {
  EXPECT_EQ(words("gpt-2", "a  b"), (W{"a", " ", " b"}));
  EXPECT_EQ(words("gpt-2", "a   \n"), (W{"a", "   \n"})) << "a run at the end is taken whole";
  EXPECT_EQ(words("gpt-2", "x\n\ny"), (W{"x", "\n", "\n", "y"}));
  EXPECT_EQ(words("gpt-2", "\tx"), (W{"\t", "x"})) << "only U+0020 joins the next word";
  EXPECT_EQ(words("gpt-2", "a\u3000\u3000b"), (W{"a", "\u3000", "\u3000", "b"}))
      << "non-ASCII whitespace is whitespace";
}

TEST(DigitRules, StarCoderSmolLMSplitEveryDigit) {
  EXPECT_EQ(words("smollm", "in 1813."), (W{"in", " ", "1", "8", "1", "3", "."}));
  EXPECT_EQ(words("starcoder", "x٣4"), (W{"x", "٣", "4"})) << "\\p{N} is any Unicode number";
}

TEST(DigitRules, FalconGroupsDigitsByThree) {
  EXPECT_EQ(words("falcon", "1234567"), (W{"123", "456", "7"}));
  EXPECT_EQ(words("falcon", "a+=b"), (W{"a", "+=", "b"}));
}

TEST(DeepSeek, CoderRules) {
  EXPECT_EQ(words("deepseek-coder", "a\nb 12"), (W{"a", "\n", "b", " ", "1", "2"}));
  EXPECT_EQ(words("deepseek-llm", "x  "), (W{"x", "  "}));
}

TEST(PreTokenizer, UnknownNameIsAnError) {
  EXPECT_THROW(PreTokenizer::by_name("llama3"), Error);
  try {
    PreTokenizer::by_name("no-such");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smollm"), std::string::npos) << "lists the known ones";
  }
}

TEST(PreTokenizer, InvalidUtf8KeepsItsBytes) {
  const std::string s = "ab\xff\xfe cd\xc3";
  std::string joined;
  for (const auto& w : words("gpt-2", s)) joined += w;
  EXPECT_EQ(joined, s);
}

TEST(Unicode, Classes) {
  EXPECT_EQ(char_class('a'), CharClass::Letter);
  EXPECT_EQ(char_class(U'é'), CharClass::Letter);
  EXPECT_EQ(char_class(U'中'), CharClass::Letter);
  EXPECT_EQ(char_class('7'), CharClass::Number);
  EXPECT_EQ(char_class(U'٣'), CharClass::Number);
  EXPECT_EQ(char_class(U'½'), CharClass::Number);
  EXPECT_EQ(char_class('!'), CharClass::Punctuation);
  EXPECT_EQ(char_class('$'), CharClass::Symbol);
  EXPECT_EQ(char_class(0x0301), CharClass::Mark);
  EXPECT_EQ(char_class(0x1F999), CharClass::Symbol);
  EXPECT_EQ(char_class(0x10FFFF), CharClass::Other);
  for (uint32_t ws : {0x09, 0x0A, 0x0D, 0x20, 0x85, 0xA0, 0x2003, 0x2028, 0x3000})
    EXPECT_TRUE(is_whitespace(ws)) << std::hex << ws;
  for (uint32_t not_ws : {0x00, 0x1C, 0x200B, 0xFEFF, 0x61})
    EXPECT_FALSE(is_whitespace(not_ws)) << std::hex << not_ws;
}

TEST(Unicode, ByteAlphabetIsABijection) {
  EXPECT_EQ(byte_to_char(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(byte_to_char('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_to_char('A'), U'A');
  for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_from_char(byte_to_char(static_cast<uint8_t>(b))), b);
  EXPECT_EQ(byte_from_char(U'中'), -1);
}

TEST(Unicode, DecodeIsTotal) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99\xFF\xC3";
  const char32_t want[] = {'a', 0xE9, 0x20AC, 0x1F999, 0xFFFD, 0xFFFD};
  size_t i = 0, k = 0;
  while (i < s.size()) {
    const Utf8Char c = utf8_decode(s, i);
    ASSERT_LT(k, std::size(want));
    EXPECT_EQ(c.cp, want[k++]);
    i += c.len;
  }
  EXPECT_EQ(k, std::size(want));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\xA6\x99"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));
}

}  // namespace
}  // namespace llm
