// The BPE trainer: its merges are the most frequent pairs, in order (checked against a naive
// recount), and the tokenizer it yields round-trips any text.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "llm/config/error.h"
#include "llm/testing/testing.h"
#include "llm/tokenizer/bpe_trainer.h"

namespace llm {
namespace {

std::string corpus() {
  const std::string novel = testing::shared_dir() + "/texts/pride-and-prejudice.txt";
  if (testing::file_exists(novel)) return testing::read_file(novel).substr(0, 200000);
  std::string s;  // a stand-in with a clear frequency structure
  for (int i = 0; i < 2000; ++i) s += "the cat sat on the mat, then the hat. ";
  return s;
}

// The naive reference: words as byte-id lists, recount every pair after every merge.
std::vector<std::pair<std::pair<int32_t, int32_t>, int64_t>> naive_merges(const std::string& text,
                                                                          int n) {
  std::vector<size_t> ends;
  PreTokenizer::by_name("gpt-2").split(text, ends);
  std::vector<std::vector<int32_t>> words;
  size_t b = 0;
  for (size_t e : ends) {
    std::vector<int32_t> w;
    for (size_t i = b; i < e; ++i) w.push_back(static_cast<uint8_t>(text[i]));
    words.push_back(w);
    b = e;
  }
  std::vector<std::pair<std::pair<int32_t, int32_t>, int64_t>> out;
  for (int32_t next = 256; static_cast<int>(out.size()) < n; ++next) {
    std::map<std::pair<int32_t, int32_t>, int64_t> counts;
    for (const auto& w : words)
      for (size_t i = 1; i < w.size(); ++i) ++counts[{w[i - 1], w[i]}];
    std::pair<std::pair<int32_t, int32_t>, int64_t> best{{0, 0}, 0};
    for (const auto& [p, c] : counts)
      if (c > best.second) best = {p, c};  // map order: ties go to the smaller ids
    out.push_back(best);
    for (auto& w : words) {
      std::vector<int32_t> m;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == best.first.first && w[i + 1] == best.first.second) {
          m.push_back(next);
          ++i;
        } else {
          m.push_back(w[i]);
        }
      }
      w = m;
    }
  }
  return out;
}

TEST(BpeTrainer, FirstMergesAreTheMostFrequentPairs) {
  const std::string text = corpus().substr(0, 40000);
  const TrainedBpe t = train_bpe(text, {.vocab_size = 256 + 20});
  ASSERT_EQ(t.merges.size(), 20u);
  const auto ref = naive_merges(text, 20);
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_EQ(t.merges[i].left, ref[i].first.first) << "merge " << i;
    EXPECT_EQ(t.merges[i].right, ref[i].first.second) << "merge " << i;
    EXPECT_EQ(t.merges[i].count, ref[i].second) << "merge " << i;
  }
  // In English prose the first merge joins a space to a common letter, or "e"+" "-like pairs.
  std::printf("[ trainer  ] first merges: '%s'+'%s' (%lld), '%s'+'%s' (%lld)\n",
              t.pieces[t.merges[0].left].c_str(), t.pieces[t.merges[0].right].c_str(),
              static_cast<long long>(t.merges[0].count), t.pieces[t.merges[1].left].c_str(),
              t.pieces[t.merges[1].right].c_str(), static_cast<long long>(t.merges[1].count));
  for (size_t i = 1; i < t.merges.size(); ++i)
    EXPECT_LE(t.merges[i].count, t.merges[i - 1].count) << "counts never grow";
}

TEST(BpeTrainer, TrainedTokenizerRoundTripsAndCompresses) {
  const std::string text = corpus();
  const TrainedBpe t = train_bpe(text, {.vocab_size = 1024, .special_tokens = {"<|endoftext|>"}});
  const auto tok = t.tokenizer();
  EXPECT_EQ(tok->vocab_size(), static_cast<int32_t>(t.pieces.size()) + 1);
  const auto ids = tok->encode(text);
  EXPECT_EQ(tok->decode(ids), text);
  const double bytes_per_token = static_cast<double>(text.size()) / static_cast<double>(ids.size());
  std::printf("[ trainer  ] %zu merges learned, %.2f bytes/token on the training text\n",
              t.merges.size(), bytes_per_token);
  EXPECT_GT(bytes_per_token, 2.5);
  for (const std::string s :
       {"Unseen words: zyzzyva, 中文, 🦙, \xff\xfe", "", "<|endoftext|> in text"}) {
    EXPECT_EQ(tok->decode(tok->encode(s)), s);
  }
  EXPECT_EQ(tok->encode("<|endoftext|>", {.parse_special = true}),
            std::vector<int32_t>{tok->eos_id()});
  // Deterministic: the same corpus gives the same merges.
  const TrainedBpe again =
      train_bpe(text, {.vocab_size = 1024, .special_tokens = {"<|endoftext|>"}});
  EXPECT_EQ(again.pieces, t.pieces);
}

TEST(BpeTrainer, SmallCorpusAndBadOptions) {
  const TrainedBpe t = train_bpe("aaab aaab aaab", {.vocab_size = 300});
  ASSERT_FALSE(t.merges.empty());
  EXPECT_EQ(t.pieces[t.merges[0].result], "aa");
  EXPECT_THROW(train_bpe("x", {.vocab_size = 100}), Error);
}

}  // namespace
}  // namespace llm
