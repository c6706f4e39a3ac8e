#include "llm/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "llm/config/error.h"
#include "llm/tokenizer/unicode.h"

namespace llm {

namespace {

uint64_t pair_key(int32_t l, int32_t r) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
}

struct Word {
  std::vector<int32_t> syms;  // current token ids
  int64_t count;              // occurrences in the corpus
};

// The statistics the trainer keeps up to date: how often each pair occurs, and in which words.
class PairStats {
 public:
  void add_word(const Word& w, int32_t index, int64_t sign) {
    for (size_t i = 1; i < w.syms.size(); ++i) {
      const uint64_t k = pair_key(w.syms[i - 1], w.syms[i]);
      int64_t& c = counts_[k];
      c += sign * w.count;
      if (c == 0) counts_.erase(k);
      if (sign > 0) where_[k].insert(index);
    }
  }
  // The most frequent pair; ties go to the smaller ids, so training is deterministic.
  std::pair<uint64_t, int64_t> best() const {
    std::pair<uint64_t, int64_t> b{0, 0};
    for (const auto& [k, c] : counts_)
      if (c > b.second || (c == b.second && k < b.first)) b = {k, c};
    return b;
  }
  void forget(uint64_t k) { counts_.erase(k); }
  // The words that held the pair at some point (a superset: the caller re-checks).
  std::vector<int32_t> take_words(uint64_t k) {
    auto it = where_.find(k);
    if (it == where_.end()) return {};
    std::vector<int32_t> v(it->second.begin(), it->second.end());
    where_.erase(it);
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::unordered_map<uint64_t, int64_t> counts_;
  std::unordered_map<uint64_t, std::unordered_set<int32_t>> where_;
};

// Replaces every non-overlapping (left, right), left to right, by `result`.
void apply_merge(std::vector<int32_t>& syms, int32_t left, int32_t right, int32_t result) {
  size_t out = 0;
  for (size_t i = 0; i < syms.size(); ++i) {
    if (i + 1 < syms.size() && syms[i] == left && syms[i + 1] == right) {
      syms[out++] = result;
      ++i;
    } else {
      syms[out++] = syms[i];
    }
  }
  syms.resize(out);
}

}  // namespace

TrainedBpe train_bpe(std::string_view corpus, const BpeTrainerOptions& opt) {
  if (opt.vocab_size < 256)
    throw Error("BPE trainer: vocab_size " + std::to_string(opt.vocab_size) +
                " is smaller than the 256 byte tokens");
  TrainedBpe t;
  t.pre_tokenizer = opt.pre_tokenizer;
  t.special_tokens = opt.special_tokens;
  std::unordered_map<std::string, int32_t> index;  // piece -> id
  for (int b = 0; b < 256; ++b) {
    std::string piece;
    utf8_append(piece, byte_to_char(static_cast<uint8_t>(b)));
    index.emplace(piece, b);
    t.pieces.push_back(std::move(piece));
  }

  // 1. Words and their counts; each word starts as its bytes (id = byte value).
  std::vector<size_t> ends;
  PreTokenizer::by_name(opt.pre_tokenizer).split(corpus, ends);
  std::unordered_map<std::string_view, int64_t> word_counts;
  size_t begin = 0;
  for (size_t end : ends) {
    ++word_counts[corpus.substr(begin, end - begin)];
    begin = end;
  }
  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (const auto& [text, c] : word_counts) {
    Word& w = words.emplace_back(Word{{}, c});
    for (unsigned char b : text) w.syms.push_back(b);
  }
  // Sorted so that training does not depend on the hash map's order.
  std::sort(words.begin(), words.end(),
            [](const Word& a, const Word& b) { return a.syms < b.syms; });

  PairStats stats;
  for (size_t i = 0; i < words.size(); ++i) stats.add_word(words[i], static_cast<int32_t>(i), +1);

  // 2. Merge the most frequent pair until the vocabulary is full.
  while (static_cast<int32_t>(t.pieces.size()) < opt.vocab_size) {
    const auto [key, count] = stats.best();
    if (count < std::max<int64_t>(opt.min_frequency, 1)) break;
    const auto left = static_cast<int32_t>(key >> 32),
               right = static_cast<int32_t>(key & 0xFFFFFFFF);
    const std::string piece = t.pieces[left] + t.pieces[right];
    // Two different pairs can spell the same string ("ab"+"c", "a"+"bc"): one token for both.
    auto [it, fresh] = index.emplace(piece, static_cast<int32_t>(t.pieces.size()));
    if (fresh) t.pieces.push_back(piece);
    t.merges.push_back({left, right, it->second, count});
    for (int32_t w : stats.take_words(key)) {
      stats.add_word(words[w], w, -1);
      apply_merge(words[w].syms, left, right, it->second);
      stats.add_word(words[w], w, +1);
    }
    stats.forget(key);  // every occurrence is merged now
  }
  return t;
}

std::unique_ptr<ByteLevelTokenizer> TrainedBpe::tokenizer() const {
  Vocab v;
  v.source = "trained BPE";
  v.pieces = pieces;
  v.types.assign(pieces.size(), TokenType::Normal);
  for (const std::string& s : special_tokens) {
    v.pieces.push_back(s);
    v.types.push_back(TokenType::Control);
  }
  if (!special_tokens.empty()) v.eos = static_cast<int32_t>(pieces.size());
  v.finalize();
  MergeTable table;
  for (const Merge& m : merges) table.add(m.left, m.right, m.result);
  return std::make_unique<ByteLevelTokenizer>(std::move(v), std::move(table),
                                              PreTokenizer::by_name(pre_tokenizer));
}

}  // namespace llm
