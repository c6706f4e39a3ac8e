#include "llm/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <vector>

namespace llm {

namespace detail {
extern const uint32_t kUnicodeRuns[];
extern const size_t kUnicodeRunCount;
}  // namespace detail

namespace {

constexpr uint8_t kWhitespaceBit = 8;

// Class byte of any code point, by binary search over the generated runs.
uint8_t lookup(char32_t cp) {
  if (cp > 0x10FFFF) return 0;
  const uint32_t* first = detail::kUnicodeRuns;
  const uint32_t* last = first + detail::kUnicodeRunCount;
  // The last run whose start <= cp: entries compare by (start << 4 | class).
  const uint32_t* it = std::upper_bound(first, last, (static_cast<uint32_t>(cp) << 4) | 0xF);
  return static_cast<uint8_t>(it == first ? 0 : (it[-1] & 0xF));
}

// The Basic Multilingual Plane holds nearly all text; a 64 KiB table makes it one load.
const std::array<uint8_t, 0x10000>& bmp_table() {
  static const auto table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = lookup(cp);
    return t;
  }();
  return table;
}

uint8_t class_bits(char32_t cp) {
  return cp < 0x10000 ? bmp_table()[cp] : lookup(cp);
}

struct ByteMap {
  std::array<char32_t, 256> to_char{};
  std::vector<int16_t> from_char;  // indexed by code point < 512
};

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves; the other 68 bytes
// (controls, space, DEL, NBSP, soft hyphen) are moved to U+0100 and up, in byte order.
const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m;
    m.from_char.assign(512, -1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      m.to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      m.from_char[m.to_char[b]] = static_cast<int16_t>(b);
    }
    return m;
  }();
  return map;
}

}  // namespace

CharClass char_class(char32_t cp) {
  return static_cast<CharClass>(class_bits(cp) & 7);
}
bool is_whitespace(char32_t cp) {
  return (class_bits(cp) & kWhitespaceBit) != 0;
}

Utf8Char utf8_decode(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return {c, 1};
  uint32_t len = 0;
  char32_t cp = 0;
  if ((c & 0xE0) == 0xC0)
    len = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    len = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    len = 4, cp = c & 0x07;
  else
    return {0xFFFD, 1};  // a continuation byte or 0xF8..0xFF cannot start a character
  if (i + len > s.size()) return {0xFFFD, 1};
  for (uint32_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  return {cp, len};
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Utf8Char ch = utf8_decode(s, i);
    if (ch.cp == 0xFFFD && ch.len == 1) return false;
    // Reject what the structural decoder lets through: overlong forms, surrogates, > U+10FFFF.
    static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (ch.cp < kMin[ch.len] || (ch.cp >= 0xD800 && ch.cp <= 0xDFFF) || ch.cp > 0x10FFFF)
      return false;
    i += ch.len;
  }
  return true;
}

size_t utf8_complete_prefix(std::string_view s) {
  const size_t n = s.size();
  // Only the last three bytes can belong to an unfinished character.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back for its lead
    const size_t need = c >= 0xF5 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

char32_t byte_to_char(uint8_t b) {
  return byte_map().to_char[b];
}

int byte_from_char(char32_t cp) {
  return cp < 512 ? byte_map().from_char[cp] : -1;
}

}  // namespace llm
