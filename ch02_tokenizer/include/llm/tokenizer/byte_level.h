// ByteLevelTokenizer — GPT-2's byte-level BPE (GPT-2, StarCoder, Falcon, MPT, DeepSeek,
// SmolLM2; GGUF tokenizer.ggml.model = "gpt2").
//
// The pre-tokenizer cuts the text into words; each word's bytes become characters of GPT-2's
// printable byte alphabet (space -> "Ġ"), one symbol per byte, and the ranked merge list joins
// them. Every byte is in the base vocabulary, so nothing is ever unknown and any byte string,
// even invalid UTF-8, round-trips.
#pragma once

#include "llm/tokenizer/bpe.h"
#include "llm/tokenizer/bpe_tokenizer.h"
#include "llm/tokenizer/pre_tokenizer.h"

namespace llm {

class ByteLevelTokenizer : public BpeTokenizer {
 public:
  // `add_prefix_space`: put a space before text that does not start with one (a tokenizer.json
  // ByteLevel option; GGUF vocabularies never do).
  ByteLevelTokenizer(Vocab vocab, MergeTable merges, PreTokenizer pre,
                     bool add_prefix_space = false);
  std::string describe() const override;
  const MergeTable& merges() const { return merges_; }

 protected:
  void encode_raw(std::string_view text, bool after_special,
                  std::vector<int32_t>& out) const override;
  std::string piece_bytes(const std::string& p, TokenType type) const override;

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  MergeTable merges_;
  PreTokenizer pre_;
  bool add_prefix_space_;
  int32_t byte_tokens_[256];  // id of the one-character token of each byte, or -1
};

}  // namespace llm
