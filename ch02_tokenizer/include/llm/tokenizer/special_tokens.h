// SpecialTokenSplitter — finds control and added tokens ("<|im_start|>", "<s>") in raw text
// before any BPE runs, so they become one id instead of being spelled out letter by letter.
//
// Semantics follow llama.cpp's tokenizer_st_partition: tokens are tried longest first, each
// claiming its non-overlapping occurrences left to right in the text not yet claimed.
// User-defined tokens (GGUF token type 4, non-special added tokens) are always matched;
// control and unknown tokens only when the caller asks to parse special tokens.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "llm/tokenizer/vocab.h"

namespace llm {

// A piece of the input: either raw text [begin, end) or one special token.
struct TextFragment {
  int32_t token = -1;  // >= 0: a special token; -1: raw text
  size_t begin = 0, end = 0;
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const Vocab& vocab);
  std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Entry {
    int32_t id;
    bool always;  // user-defined: matched even when special tokens are not parsed
    uint8_t strip;
  };
  const Vocab* vocab_;
  std::vector<Entry> entries_;                  // in priority order: longest first
  std::vector<std::vector<int32_t>> by_first_;  // [256] entry indices by the piece's first byte
};

}  // namespace llm
