// The merge loop and its fast path: SentencePiece's encoder runs on ids, with a merge list
// derived from the scores, word by word, with a per-call cache. The reference here is the
// literal definition llama.cpp implements: the whole text as characters, merged on strings by
// score. Both must give the same ids.
#include <gtest/gtest.h>

#include <cstdio>

#include "golden_cases.h"
#include "llm/tokenizer/bpe.h"
#include "llm/tokenizer/sentencepiece.h"
#include "llm/tokenizer/unicode.h"

namespace llm {
namespace {

std::vector<int32_t> reference_sentencepiece(const Vocab& v, std::string_view text) {
  std::string s = "\xE2\x96\x81";
  for (char c : text) {
    if (c == ' ') {
      s += "\xE2\x96\x81";
    } else {
      s += c;
    }
  }
  std::vector<BpeSymbol> syms;
  for (size_t i = 0; i < s.size();) {
    const size_t len = std::min<size_t>(utf8_lead_length(static_cast<uint8_t>(s[i])), s.size() - i);
    syms.push_back({-1, static_cast<uint32_t>(i), static_cast<uint32_t>(i + len)});
    i += len;
  }
  bpe_link(syms);
  merge_by_score(s, syms, v);
  std::vector<int32_t> out;
  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    if (syms[i].id >= 0) {
      out.push_back(syms[i].id);
      continue;
    }
    for (uint32_t k = syms[i].begin; k < syms[i].end; ++k) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", static_cast<uint8_t>(s[k]));
      out.push_back(v.find_or(buf, -1));
    }
  }
  return out;
}

TEST(SentencePieceFastPath, EqualsTheStringDefinition) {
  const std::string novel = testing::shared_dir() + "/texts/pride-and-prejudice.txt";
  for (const std::string& path : {testing::models_dir() + "/tokenizer.bin",
                                  testing::shared_dir() + "/golden/tokenizer/ggml-vocab-phi-3.gguf",
                                  testing::models_dir() + "/tok512.bin"}) {
    if (!testing::require_file(path) || !testing::require_file(novel)) {
      std::printf("[ skipped  ] %s\n", testing::skip_reason(path).c_str());
      continue;
    }
    const auto tok = load_tokenizer(path);
    const auto& sp = dynamic_cast<const SentencePieceTokenizer&>(*tok);
    std::vector<std::string> texts = {testing::read_file(novel).substr(0, 30000),
                                      "   leading\ttabs\n\n and  double  spaces  ",
                                      "unknown characters: \xF0\x9F\xA6\x99 \xE2\x80\x8B \xFF\xFE"};
    for (const auto& c : testing::read_vocab_cases(testing::shared_dir() +
                                                   "/golden/tokenizer/ggml-vocab-llama-spm.gguf"))
      texts.push_back(c.text);
    for (const std::string& t : texts) {
      if (t.empty()) continue;
      EXPECT_EQ(tok->encode(t, {.add_bos = false}), reference_sentencepiece(sp.vocab(), t))
          << path << ": " << testing::printable(t.substr(0, 80));
    }
  }
}

TEST(MergeTable, RanksLookupsAndGrowth) {
  MergeTable t;
  EXPECT_EQ(t.find(1, 2), nullptr);
  for (int32_t i = 0; i < 10000; ++i) t.add(i, i + 1, 100000 + i);
  t.add(5, 6, 7);  // listed again: keeps the first rank and result
  EXPECT_EQ(t.size(), 10000u);
  ASSERT_NE(t.find(5, 6), nullptr);
  EXPECT_EQ(t.find(5, 6)->rank, 5);
  EXPECT_EQ(t.find(5, 6)->result, 100005);
  EXPECT_EQ(t.find(9999, 10000)->rank, 9999);
  EXPECT_EQ(t.find(6, 5), nullptr);
}

TEST(MergeByRank, LowestRankFirstThenLeftmost) {
  // Tokens: a=0 b=1 c=2 ab=3 bc=4 abc=5. Merges: (b,c) rank 0, (a,b) rank 1, (a,bc) rank 2.
  MergeTable m;
  m.add(1, 2, 4);
  m.add(0, 1, 3);
  m.add(0, 4, 5);
  const auto run = [&](std::vector<int32_t> ids) {
    std::vector<BpeSymbol> syms;
    for (size_t i = 0; i < ids.size(); ++i)
      syms.push_back({ids[i], static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)});
    bpe_link(syms);
    merge_by_rank(syms, m);
    std::vector<int32_t> out;
    for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
    return out;
  };
  EXPECT_EQ(run({0, 1, 2}), (std::vector<int32_t>{5}));        // bc first, then a+bc
  EXPECT_EQ(run({0, 1, 0, 1}), (std::vector<int32_t>{3, 3}));  // equal ranks: left to right
  EXPECT_EQ(run({2, 0}), (std::vector<int32_t>{2, 0}));        // nothing to merge
}

}  // namespace
}  // namespace llm
