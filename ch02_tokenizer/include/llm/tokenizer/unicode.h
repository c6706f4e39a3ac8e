// Unicode helpers for tokenizers: UTF-8 decoding that never fails, the character classes that
// pre-tokenizer patterns ask about (\p{L}, \p{N}, \p{P}, \s), and the GPT-2 byte<->character
// mapping of byte-level BPE.
//
// Tokenizers see arbitrary bytes, not only valid UTF-8, so decoding is total: an invalid byte
// decodes as U+FFFD with length 1 and callers keep the original bytes. The class table is
// generated from Unicode data by tools/gen_unicode_tables.py (no regex library, no ICU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llm {

// The first letter of a code point's general category; Other = unassigned (Cn).
enum class CharClass : uint8_t {
  Other = 0,
  Letter = 1,
  Number = 2,
  Punctuation = 3,
  Mark = 4,
  Symbol = 5,
  Separator = 6,
  Control = 7,
};

CharClass char_class(char32_t cp);
bool is_whitespace(char32_t cp);  // the Unicode White_Space property (what regex \s matches)
inline bool is_letter(char32_t cp) {
  return char_class(cp) == CharClass::Letter;
}
inline bool is_number(char32_t cp) {
  return char_class(cp) == CharClass::Number;
}
inline bool is_punctuation(char32_t cp) {
  return char_class(cp) == CharClass::Punctuation;
}

struct Utf8Char {
  char32_t cp;   // U+FFFD for an invalid or truncated sequence
  uint32_t len;  // bytes consumed (1 for an invalid byte)
};
// Decodes the code point starting at s[i] (i < s.size()). Like llama.cpp, only the structure is
// checked (lead byte, continuation bytes), not overlong forms.
Utf8Char utf8_decode(std::string_view s, size_t i);
// The length a lead byte announces (1 for continuation bytes), as SentencePiece splits text.
inline uint32_t utf8_lead_length(unsigned char c) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[c >> 4];
}
void utf8_append(std::string& out, char32_t cp);
bool is_valid_utf8(std::string_view s);
// The longest prefix of s that does not end inside an unfinished multi-byte character. Bytes
// that can never become valid (stray continuation bytes, 0xFF...) count as complete, so a
// stream decoder never holds them back forever.
size_t utf8_complete_prefix(std::string_view s);

// GPT-2's byte-level alphabet: every byte is shown as a printable character (space -> 'Ġ',
// newline -> 'Ċ'), so a vocabulary of strings can hold any byte sequence.
char32_t byte_to_char(uint8_t b);
int byte_from_char(char32_t cp);  // -1 when cp is not one of the 256 characters

}  // namespace llm
