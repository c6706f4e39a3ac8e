// SentencePieceTokenizer — the SentencePiece flavour of BPE (Llama-2, TinyStories, Phi-3;
// GGUF tokenizer.ggml.model = "llama"; llama2.c's tokenizer.bin).
//
// Text is not pre-tokenized: spaces become "▁" (U+2581) and belong to the next word, a "▁" is
// put in front of the text (the "dummy prefix", so " Hello" and "Hello" at the start give the
// same token), and the whole piece is merged character by character. By default pairs merge by
// the score of the token they form, as sentencepiece and llama.cpp do (the scores are turned
// into an equivalent ranked merge list once, so the merge loop works on ids); a tokenizer.json
// gives the ranked merges itself. Characters the vocabulary lacks are spelled as byte tokens
// <0x00>..<0xFF> ("byte fallback").
#pragma once

#include <optional>
#include <vector>

#include "llm/tokenizer/bpe.h"
#include "llm/tokenizer/bpe_tokenizer.h"

namespace llm {

class SentencePieceTokenizer : public BpeTokenizer {
 public:
  // `merges`: rank-based merging (tokenizer.json); nullopt: by vocab.scores.
  SentencePieceTokenizer(Vocab vocab, bool add_space_prefix,
                         std::optional<MergeTable> merges = std::nullopt);
  std::string describe() const override;

 protected:
  void encode_raw(std::string_view text, bool after_special,
                  std::vector<int32_t>& out) const override;
  std::string piece_bytes(const std::string& p, TokenType type) const override;
  bool strips_prefix_space() const override { return add_space_prefix_; }

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  void emit_bytes(std::string_view bytes, std::vector<int32_t>& out) const;
  bool could_be_inside_token(std::string_view symbol) const;
  bool add_space_prefix_;
  bool split_words_;  // no token holds "▁" after another character: words merge alone
  bool by_score_;     // sentencepiece semantics; merges_ is then derived from the scores
  MergeTable merges_;
  int32_t byte_tokens_[256];           // id of <0xNN>, or -1
  std::vector<char32_t> piece_chars_;  // sorted: every character that occurs in a piece
  bool pieces_have_invalid_utf8_ = false;
};

}  // namespace llm
