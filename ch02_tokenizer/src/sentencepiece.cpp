#include "llm/tokenizer/sentencepiece.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llm/tokenizer/unicode.h"

namespace llm {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁" U+2581, SentencePiece's space

std::string byte_piece(int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

// The byte of a "<0xNN>" piece, or -1.
int parse_byte_piece(std::string_view p) {
  if (p.size() != 6 || !p.starts_with("<0x") || p[5] != '>') return -1;
  int v = 0;
  for (char c : p.substr(3, 2)) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// SentencePiece merges by score: two symbols may merge when their concatenation is a token,
// the best-scoring token first. Written out, that is a merge list: every split of every token
// into two tokens, ranked by the token's score. Equal scores share a rank, so that ties still go
// to the leftmost pair. (Hugging Face's converter derives tokenizer.json merges the same way.)
MergeTable merges_from_scores(const Vocab& v) {
  struct Split {
    float score;
    int32_t left, right, token;
  };
  std::vector<Split> all;
  for (int32_t t = 0; t < v.size(); ++t) {
    const std::string_view p = v.pieces[t];
    if (v.find_or(p, -1) != t) continue;  // a duplicate: this text stands for another id
    float score = v.scores.empty() ? 0.0f : v.scores[t];
    if (std::isnan(score)) score = -INFINITY;
    for (size_t k = 1; k < p.size(); ++k) {
      const int32_t l = v.find_or(p.substr(0, k), -1), r = v.find_or(p.substr(k), -1);
      if (l >= 0 && r >= 0) all.push_back({score, l, r, t});
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Split& a, const Split& b) { return a.score > b.score; });
  MergeTable table;
  table.reserve(all.size());
  int32_t rank = -1;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i == 0 || all[i].score != all[i - 1].score) ++rank;
    table.add(all[i].left, all[i].right, all[i].token, rank);
  }
  return table;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(Vocab vocab, bool add_space_prefix,
                                               std::optional<MergeTable> merges)
    : BpeTokenizer(std::move(vocab)),
      add_space_prefix_(add_space_prefix),
      by_score_(!merges),
      merges_(merges ? std::move(*merges) : merges_from_scores(vocab_)) {
  for (int b = 0; b < 256; ++b) byte_tokens_[b] = vocab_.find_or(byte_piece(b), -1);
  // Which characters occur inside pieces (see could_be_inside_token).
  for (const std::string& p : vocab_.pieces)
    for (size_t i = 0; i < p.size();) {
      const Utf8Char c = utf8_decode(p, i);
      if (c.cp == 0xFFFD && c.len == 1) pieces_have_invalid_utf8_ = true;
      piece_chars_.push_back(c.cp);
      i += c.len;
    }
  std::sort(piece_chars_.begin(), piece_chars_.end());
  piece_chars_.erase(std::unique(piece_chars_.begin(), piece_chars_.end()), piece_chars_.end());
  split_words_ = true;
  for (const std::string& p : vocab_.pieces)
    for (size_t k = p.find(kSpace, 1); k != std::string::npos; k = p.find(kSpace, k + 1))
      if (k < 3 || std::string_view(p).substr(k - 3, 3) != kSpace) split_words_ = false;
}

// A symbol that is not a token can only ever merge if its character occurs inside some piece.
// Most such characters ("\n" in Llama-2, emoji) occur in none and stay alone: the fast path.
bool SentencePieceTokenizer::could_be_inside_token(std::string_view symbol) const {
  const Utf8Char c = utf8_decode(symbol, 0);
  if (c.len != symbol.size()) return pieces_have_invalid_utf8_;  // not one valid character
  return std::binary_search(piece_chars_.begin(), piece_chars_.end(), c.cp);
}

void SentencePieceTokenizer::emit_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  for (char c : bytes) {
    int32_t id = byte_tokens_[static_cast<uint8_t>(c)];
    if (id < 0) id = vocab_.find_or(std::string_view(&c, 1), vocab_.unk);
    if (id >= 0) out.push_back(id);
  }
}

void SentencePieceTokenizer::encode_raw(std::string_view text, bool after_special,
                                        std::vector<int32_t>& out) const {
  // Normalize: the dummy prefix, then every space as "▁".
  std::string s;
  s.clear();
  if (add_space_prefix_ && after_special) s += kSpace;
  for (char c : text) {
    if (c == ' ') {
      s += kSpace;
    } else {
      s += c;
    }
  }

  // A merge never crosses a word boundary when no token holds "▁" after another character
  // (true of SentencePiece vocabularies trained with split_by_whitespace), so each word can be
  // merged alone: the same result as merging the whole text, with small queues.
  thread_local std::vector<size_t> ends;
  ends.clear();
  for (size_t p = s.find(kSpace, 1); split_words_ && p != std::string::npos;
       p = s.find(kSpace, p + kSpace.size()))
    if (std::string_view(s).substr(p - std::min<size_t>(p, 3), 3) != kSpace) ends.push_back(p);
  ends.push_back(s.size());
  encode_words(s, ends, out, [&](std::string_view w) { encode_word(w, out); });
}

void SentencePieceTokenizer::encode_word(std::string_view s, std::vector<int32_t>& out) const {
  // One symbol per UTF-8 character (by its lead byte, as sentencepiece does).
  thread_local std::vector<BpeSymbol> syms;
  syms.clear();
  bool may_merge_on_strings = false;
  for (size_t i = 0; i < s.size();) {
    const auto len = std::min<size_t>(utf8_lead_length(static_cast<uint8_t>(s[i])), s.size() - i);
    BpeSymbol sym;
    sym.begin = static_cast<uint32_t>(i);
    sym.end = static_cast<uint32_t>(i + len);
    sym.id = vocab_.find_or(s.substr(i, len), -1);
    if (sym.id < 0 && by_score_) may_merge_on_strings |= could_be_inside_token(s.substr(i, len));
    // Hugging Face (ranked merges): a character the vocabulary lacks becomes its byte tokens
    // right away, or one unknown token when there are none.
    if (!by_score_ && sym.id < 0) {
      const bool all_bytes = std::all_of(s.begin() + i, s.begin() + i + len,
                                         [&](char c) { return byte_tokens_[uint8_t(c)] >= 0; });
      if (all_bytes) {
        for (size_t k = i; k < i + len; ++k)
          syms.push_back({byte_tokens_[uint8_t(s[k])], uint32_t(k), uint32_t(k + 1)});
        i += len;
        continue;
      }
      const bool fuse = !syms.empty() && syms.back().id == vocab_.unk && vocab_.unk >= 0;
      sym.id = vocab_.unk;
      if (fuse) {
        syms.back().end = sym.end;
        i += len;
        continue;
      }
    }
    syms.push_back(sym);
    i += len;
  }
  bpe_link(syms);
  if (may_merge_on_strings) {
    // A character that is not a token but occurs inside one could still merge with a neighbour
    // into it: take sentencepiece's own definition, on strings, for such rare words.
    merge_by_score(s, syms, vocab_);
  } else {
    merge_by_rank(syms, merges_);
  }
  for (int32_t i = 0; i >= 0 && !syms.empty(); i = syms[i].next) {
    const BpeSymbol& sym = syms[i];
    if (sym.id >= 0) {
      out.push_back(sym.id);
    } else {
      emit_bytes(s.substr(sym.begin, sym.end - sym.begin), out);
    }
  }
}

std::string SentencePieceTokenizer::piece_bytes(const std::string& p, TokenType type) const {
  if (type == TokenType::Byte) {  // <0x0A>
    const int b = parse_byte_piece(p);
    return b < 0 ? p : std::string(1, static_cast<char>(b));
  }
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    if (std::string_view(p).substr(i).starts_with(kSpace)) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += p[i++];
    }
  }
  return out;
}

std::string SentencePieceTokenizer::describe() const {
  return "sentencepiece BPE, " + std::to_string(vocab_.size()) + " tokens, merges by " +
         (by_score_ ? "score (" : "rank (") + std::to_string(merges_.size()) + " pairs)" +
         (add_space_prefix_ ? ", space prefix" : "") + (split_words_ ? ", word by word" : "") +
         (vocab_.add_bos ? ", adds BOS " + std::to_string(vocab_.bos) : std::string(", no BOS"));
}

}  // namespace llm
