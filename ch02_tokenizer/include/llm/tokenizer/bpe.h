// The BPE merge loop, shared by both tokenizer families.
//
// A word starts as a list of small symbols (bytes or characters); BPE repeatedly joins the
// adjacent pair that the vocabulary ranks best, until no pair can be joined. Families differ
// only in how "best" is defined:
//   - by rank (GPT-2, tokenizer.json): the merge list is ordered, lower rank first;
//   - by score (SentencePiece): any pair whose concatenation is a token may merge, highest
//     token score first.
// Ties go to the leftmost pair. The loop keeps the symbols in a linked list and the candidate
// pairs in a priority queue, so a word of n symbols costs O(n log n), not O(n^2) rescans.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "llm/tokenizer/vocab.h"

namespace llm {

// One symbol of a word being merged: a byte span of the word and the token it is.
struct BpeSymbol {
  int32_t id = -1;              // token id, or -1 when the span is not a token (SentencePiece only)
  uint32_t begin = 0, end = 0;  // bytes [begin, end) of the word; end == begin once merged away
  int32_t prev = -1, next = -1;  // neighbours in the list, -1 at the ends
};

// The ordered merge list of a rank-based BPE: (left id, right id) -> (rank, merged id).
// Looked up once or twice per input byte, so it is a flat open-addressing table (one probe is
// usually one cache line) rather than std::unordered_map's linked nodes: 3x faster encoding.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  // Appends a merge with the next rank (or `rank`); a pair listed twice keeps its first rank.
  void add(int32_t left, int32_t right, int32_t result) { add(left, right, result, next_rank_); }
  void add(int32_t left, int32_t right, int32_t result, int32_t rank);
  const Merge* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(left, right);
    for (size_t i = home(k);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == k) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }
  void reserve(size_t n);

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are >= 0, so no key is all ones
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static uint64_t key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  // Fibonacci hashing: the multiply spreads the bits, the top bits pick the slot.
  size_t home(uint64_t k) const {
    return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::vector<Slot> slots_;  // a power of two, at most half full
  unsigned shift_ = 64;
  size_t size_ = 0;
  int32_t next_rank_ = 0;
};

// Links each symbol to its neighbours in the vector (i - 1 and i + 1).
void bpe_link(std::vector<BpeSymbol>& syms);

// Merges `syms` (linked, each with a token id) by rank. Symbol 0 always survives, so the
// result is read by following `next` from index 0.
void merge_by_rank(std::vector<BpeSymbol>& syms, const MergeTable& merges);

// Merges `syms` (spans of `word`) by SentencePiece score: a pair merges when the vocabulary
// holds their concatenation, the best-scoring first. This is the literal definition (llama.cpp's
// llm_tokenizer_spm); SentencePieceTokenizer runs an equivalent merge table on ids and keeps
// this for the rare words it cannot prove equivalent. Symbol ids are set for spans that are tokens.
void merge_by_score(std::string_view word, std::vector<BpeSymbol>& syms, const Vocab& vocab);

// Runs `encode_word(word)` (which appends ids to `out`) on each word of `text` (cut at the
// offsets `ends`). Words repeat ("the", " and", ","), so the ids a word got the first time are
// copied after that. The cache lives for one call: nothing is shared between threads or grows.
template <class EncodeWord>
void encode_words(std::string_view text, const std::vector<size_t>& ends, std::vector<int32_t>& out,
                  EncodeWord&& encode_word) {
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> seen;  // word -> ids in out
  size_t begin = 0;
  for (size_t end : ends) {
    const std::string_view word = text.substr(begin, end - begin);
    begin = end;
    const auto [it, fresh] = seen.try_emplace(word, out.size(), 0);
    if (!fresh) {
      const auto [at, n] = it->second;
      for (size_t k = 0; k < n; ++k) out.push_back(out[at + k]);
      continue;
    }
    encode_word(word);
    it->second.second = out.size() - it->second.first;
  }
}

}  // namespace llm
