// BpeTokenizer — what the two BPE families share: the vocabulary, the special-token split, BOS.
//
// encode() cuts the text around special tokens, then hands each raw piece to the family's
// encode_raw(): SentencePieceTokenizer (sentencepiece.h) or ByteLevelTokenizer (byte_level.h).
#pragma once

#include <string_view>
#include <vector>

#include "llm/tokenizer/special_tokens.h"
#include "llm/tokenizer/tokenizer.h"
#include "llm/tokenizer/vocab.h"

namespace llm {

class BpeTokenizer : public Tokenizer {
 public:
  BpeTokenizer(const BpeTokenizer&) = delete;
  BpeTokenizer& operator=(const BpeTokenizer&) = delete;

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const final;
  // Control tokens decode to nothing, unknown ones to U+FFFD, user-defined (added) ones to their
  // text; every other token to what its family's piece_bytes() makes of its piece.
  std::string token_bytes(int32_t id) const final;
  std::string piece(int32_t id) const override;
  int32_t vocab_size() const override { return vocab_.size(); }
  int32_t bos_id() const override { return vocab_.bos; }
  int32_t eos_id() const override { return vocab_.eos; }
  bool adds_bos() const override { return vocab_.add_bos; }
  bool is_special(int32_t id) const override { return vocab_.valid(id) && vocab_.is_special(id); }
  std::optional<int32_t> find_token(std::string_view piece) const override {
    return vocab_.find(piece);
  }
  std::vector<int32_t> stop_ids() const override { return vocab_.eog; }
  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit BpeTokenizer(Vocab vocab);
  // Encodes text that holds no special token; `after_special` is true at the start of the
  // text and right after a special token (SentencePiece puts its prefix space there).
  virtual void encode_raw(std::string_view text, bool after_special,
                          std::vector<int32_t>& out) const = 0;
  // The bytes a normal (or byte) token's piece stands for.
  virtual std::string piece_bytes(const std::string& piece, TokenType type) const = 0;

  Vocab vocab_;
  SpecialTokenSplitter specials_;
};

}  // namespace llm
