#include "llm/tokenizer/byte_level.h"

#include "llm/tokenizer/unicode.h"

namespace llm {

ByteLevelTokenizer::ByteLevelTokenizer(Vocab vocab, MergeTable merges, PreTokenizer pre,
                                       bool add_prefix_space)
    : BpeTokenizer(std::move(vocab)),
      merges_(std::move(merges)),
      pre_(std::move(pre)),
      add_prefix_space_(add_prefix_space) {
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    utf8_append(ch, byte_to_char(static_cast<uint8_t>(b)));
    byte_tokens_[b] = vocab_.find_or(ch, -1);
  }
}

void ByteLevelTokenizer::encode_raw(std::string_view text, bool /*after_special*/,
                                    std::vector<int32_t>& out) const {
  std::string prefixed;
  if (add_prefix_space_ && !text.starts_with(' ')) {
    prefixed.reserve(text.size() + 1);
    prefixed += ' ';
    prefixed += text;
    text = prefixed;
  }
  thread_local std::vector<size_t> ends;
  ends.clear();
  pre_.split(text, ends);
  encode_words(text, ends, out, [&](std::string_view w) { encode_word(w, out); });
}

void ByteLevelTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  // One symbol per byte, already a token: the 256 byte characters are the base vocabulary.
  thread_local std::vector<BpeSymbol> syms;
  syms.resize(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    syms[i].id = byte_tokens_[static_cast<uint8_t>(word[i])];
    syms[i].begin = static_cast<uint32_t>(i);
    syms[i].end = static_cast<uint32_t>(i + 1);
  }
  bpe_link(syms);
  merge_by_rank(syms, merges_);
  // A byte missing from the vocabulary is dropped, as llama.cpp does.
  for (int32_t i = 0; i >= 0 && !syms.empty(); i = syms[i].next)
    if (syms[i].id >= 0) out.push_back(syms[i].id);
}

std::string ByteLevelTokenizer::piece_bytes(const std::string& p, TokenType) const {
  // Map each character back to its byte; a character outside the byte alphabet stands for
  // itself (some vocabularies hold a few such tokens).
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    const Utf8Char ch = utf8_decode(p, i);
    const int b = byte_from_char(ch.cp);
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      out.append(p, i, ch.len);
    }
    i += ch.len;
  }
  return out;
}

std::string ByteLevelTokenizer::describe() const {
  return "byte-level BPE, " + std::to_string(vocab_.size()) + " tokens, " +
         std::to_string(merges_.size()) + " merges, pre-tokenizer '" + pre_.name() + "'" +
         (vocab_.add_bos ? ", adds BOS " + std::to_string(vocab_.bos) : std::string(", no BOS"));
}

}  // namespace llm
