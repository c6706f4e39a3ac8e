// BPE training — where a byte-level vocabulary comes from.
//
// Start from the 256 bytes; count every adjacent pair of symbols inside the words of a corpus
// (words as the pre-tokenizer cuts them, so merges never cross a word boundary); turn the most
// frequent pair into a new token; repeat until the vocabulary is full. The merges, in the order
// they were learned, are exactly the ranked merge list a byte-level tokenizer applies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/tokenizer/byte_level.h"

namespace llm {

struct BpeTrainerOptions {
  int32_t vocab_size = 1024;  // bytes + learned tokens (special tokens come on top)
  int64_t min_frequency = 2;  // stop early when the best pair is rarer than this
  std::string pre_tokenizer = "gpt-2";
  std::vector<std::string> special_tokens = {};  // added as control tokens, e.g. "<|endoftext|>"
};

struct TrainedBpe {
  std::vector<std::string> pieces;  // in GPT-2's byte alphabet ("Ġthe"); ids 0..255 are bytes
  struct Merge {
    int32_t left, right, result;
    int64_t count;  // how often the pair occurred when it was chosen
  };
  std::vector<Merge> merges;  // in the order learned: merges[0] was the most frequent pair
  std::vector<std::string> special_tokens;
  std::string pre_tokenizer;

  // A tokenizer that applies what was learned.
  std::unique_ptr<ByteLevelTokenizer> tokenizer() const;
};

TrainedBpe train_bpe(std::string_view corpus, const BpeTrainerOptions& opt = {});

}  // namespace llm
