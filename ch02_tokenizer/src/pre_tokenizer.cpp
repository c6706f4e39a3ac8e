#include "llm/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <utility>

#include "llm/config/error.h"
#include "llm/tokenizer/unicode.h"

namespace llm {

namespace {

using Kind = PreTokenizer::Kind;

// ---- Character classes -------------------------------------------------------------------

// A set of code point ranges written as in a regex class: "A-Za-z_" (UTF-8).
class RangeSet {
 public:
  explicit RangeSet(std::string_view spec) {
    std::vector<char32_t> cps;
    for (size_t i = 0; i < spec.size();) {
      const Utf8Char c = utf8_decode(spec, i);
      cps.push_back(c.cp);
      i += c.len;
    }
    for (size_t i = 0; i < cps.size(); ++i) {
      if (i + 2 < cps.size() && cps[i + 1] == '-') {
        ranges_.emplace_back(cps[i], cps[i + 2]);
        i += 2;
      } else {
        ranges_.emplace_back(cps[i], cps[i]);
      }
    }
    std::sort(ranges_.begin(), ranges_.end());
  }
  bool contains(char32_t cp) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::pair{cp, char32_t{0x7FFFFFFF}});
    return it != ranges_.begin() && cp <= std::prev(it)->second;
  }

 private:
  std::vector<std::pair<char32_t, char32_t>> ranges_;
};

// Patterns written with literal ranges (no \p{..}) are run by llama.cpp on text where every
// non-ASCII whitespace was replaced by \v, so such characters never match those ranges.
bool in_literal_class(const RangeSet& set, char32_t cp) {
  return (cp < 0x80 || !is_whitespace(cp)) && set.contains(cp);
}

bool cr_or_lf(char32_t cp) {
  return cp == '\r' || cp == '\n';
}
bool ascii_digit(char32_t cp) {
  return cp >= '0' && cp <= '9';
}
// [\p{P}\$\+<=>\^~\|]: punctuation plus the ASCII symbols listed (llama.cpp's default).
bool default_punct(char32_t cp) {
  return is_punctuation(cp) ||
         (cp < 0x80 &&
          std::string_view("$+<=>^~|").find(static_cast<char>(cp)) != std::string_view::npos);
}
// Falcon's [\p{P}\$\+<=>\^~\|`]: the same plus the backtick.
bool falcon_punct(char32_t cp) {
  return cp == '`' || default_punct(cp);
}
// DeepSeek's CJK run [一-龥ࠀ-一가-퟿]: note the second range starts at U+0800.
bool deepseek_cjk(char32_t cp) {
  static const RangeSet set("\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF");
  return in_literal_class(set, cp);
}
// DeepSeek LLM spells its letters out instead of \p{L} (from its tokenizer.json). The \u escapes
// are characters that Unicode normalization would silently replace if written literally.
bool deepseek_letter(char32_t cp) {
  // clang-format off
  static const RangeSet set(
      "A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿ"
      "ᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼ"
      "ℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿ"
      "ﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃");
  // clang-format on
  return in_literal_class(set, cp);
}
bool deepseek_punct(char32_t cp) {
  static const RangeSet set("!-/:-~！-／：-～‘-‟　-。");
  return in_literal_class(set, cp);
}

// ---- The GPT-2 pattern ---------------------------------------------------------------------

enum class Cls : uint8_t { Letter, Number, Space, Other };
Cls cls(char32_t cp) {
  if (is_whitespace(cp)) return Cls::Space;
  const CharClass c = char_class(cp);
  return c == CharClass::Letter ? Cls::Letter : c == CharClass::Number ? Cls::Number : Cls::Other;
}

// Splits c[b, e) as 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// would, pushing the end of every match.
void split_gpt2(const char32_t* c, size_t b, size_t e, std::vector<uint32_t>& ends) {
  size_t i = b;
  const auto emit = [&](size_t end) {
    ends.push_back(static_cast<uint32_t>(end));
    i = end;
  };
  while (i < e) {
    if (c[i] == '\'' && i + 1 < e) {  // the English contractions, lower case only
      const char32_t n1 = c[i + 1], n2 = i + 2 < e ? c[i + 2] : 0;
      if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
        emit(i + 2);
        continue;
      }
      if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
        emit(i + 3);
        continue;
      }
    }
    // " ?X+" for X = letters, numbers, or anything else that is not whitespace: one optional
    // leading space (U+0020 only), then a run of one class.
    const size_t j = (c[i] == ' ' && i + 1 < e) ? i + 1 : i;
    const Cls k = cls(c[j]);
    if (k != Cls::Space) {
      size_t m = j + 1;
      while (m < e && cls(c[m]) == k) ++m;
      emit(m);
      continue;
    }
    // Whitespace. "\s+(?!\S)" leaves the last space of a run that a word follows, so the word
    // gets its " ?" prefix; a lone whitespace or a run at the end is taken whole ("\s+").
    size_t m = i;
    while (m < e && is_whitespace(c[m])) ++m;
    if (m - i > 1 && m < e) --m;
    emit(m);
  }
}

// ---- The other rules -----------------------------------------------------------------------

// Length of the match of `r` starting exactly at c[i] (0 = none), for the simple rules.
size_t match_at(const PreTokenizer::Rule& r, const char32_t* c, size_t i, size_t e) {
  const auto run = [&](size_t k) {
    while (k < e && r.match(c[k])) ++k;
    return k - i;
  };
  switch (r.kind) {
    case Kind::EachChar:
      return r.match(c[i]) ? 1 : 0;
    case Kind::Run:
      return r.match(c[i]) ? run(i + 1) : 0;
    case Kind::SpaceRun:
      if (is_whitespace(c[i]) && i + 1 < e && r.match(c[i + 1])) return run(i + 2);
      return r.match(c[i]) ? run(i + 1) : 0;
    case Kind::DigitTriples:
      return i + 3 <= e && ascii_digit(c[i]) && ascii_digit(c[i + 1]) && ascii_digit(c[i + 2]) ? 3
                                                                                               : 0;
    default:
      return 0;
  }
}

// Applies one rule to c[b, e): like a regex iterator, every match and every gap between
// matches becomes a piece.
void apply(const PreTokenizer::Rule& r, const char32_t* c, size_t b, size_t e,
           std::vector<uint32_t>& ends) {
  if (r.kind == Kind::Gpt2) return split_gpt2(c, b, e, ends);
  if (r.kind == Kind::TrailingSpace) {
    size_t t = e;
    while (t > b && is_whitespace(c[t - 1])) --t;
    if (t > b && t < e) ends.push_back(static_cast<uint32_t>(t));
    ends.push_back(static_cast<uint32_t>(e));
    return;
  }
  size_t gap = b;
  for (size_t i = b; i < e;) {
    const size_t len = match_at(r, c, i, e);
    if (len == 0) {
      ++i;
      continue;
    }
    if (i > gap) ends.push_back(static_cast<uint32_t>(i));
    i += len;
    ends.push_back(static_cast<uint32_t>(i));
    gap = i;
  }
  if (gap < e) ends.push_back(static_cast<uint32_t>(e));
}

struct Named {
  std::vector<std::string_view> names;
  std::vector<PreTokenizer::Rule> rules;
};

// The rule lists of llama.cpp's llama-vocab.cpp, by `tokenizer.ggml.pre`.
const std::vector<Named>& table() {
  static const std::vector<Named> t = {
      {{"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais"}, {{Kind::Gpt2}}},
      {{"starcoder", "refact", "smollm", "command-r", "codeshell", "exaone", "minerva-7b"},
       {{Kind::EachChar, is_number}, {Kind::Gpt2}}},
      {{"default", ""},
       {{Kind::Run, default_punct}, {Kind::Gpt2}, {Kind::Run, is_number}, {Kind::DigitTriples}}},
      {{"falcon"}, {{Kind::Run, falcon_punct}, {Kind::Gpt2}, {Kind::DigitTriples}}},
      {{"deepseek-coder"},
       {{Kind::EachChar, cr_or_lf},
        {Kind::SpaceRun, is_letter},
        {Kind::SpaceRun, is_punctuation},
        {Kind::Run, deepseek_cjk},
        {Kind::EachChar, is_number}}},
      {{"deepseek-llm"},
       {{Kind::EachChar, cr_or_lf},
        {Kind::SpaceRun, deepseek_letter},
        {Kind::SpaceRun, deepseek_punct},
        {Kind::TrailingSpace},
        {Kind::Run, deepseek_cjk},
        {Kind::Run, is_number}}},
  };
  return t;
}

}  // namespace

PreTokenizer PreTokenizer::by_name(std::string_view name) {
  for (const Named& n : table())
    for (std::string_view s : n.names)
      if (s == name) return PreTokenizer(std::string(name.empty() ? "default" : name), n.rules);
  throw Error("pre-tokenizer '" + std::string(name) +
              "' is not supported (known: " + known_names() + ")");
}

std::string PreTokenizer::known_names() {
  std::string out;
  for (const Named& n : table())
    for (std::string_view s : n.names)
      if (!s.empty()) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

void PreTokenizer::split(std::string_view text, std::vector<size_t>& word_ends) const {
  // Work on code points; remember where each one starts so words can be cut in bytes.
  thread_local std::vector<char32_t> cps;
  thread_local std::vector<uint32_t> offset, cur, next;
  if (text.size() >= UINT32_MAX) throw Error("pre-tokenizer: text of 4 GiB or more");
  cps.clear();
  offset.clear();
  for (size_t i = 0; i < text.size();) {
    const Utf8Char ch = utf8_decode(text, i);
    cps.push_back(ch.cp);
    offset.push_back(static_cast<uint32_t>(i));
    i += ch.len;
  }
  offset.push_back(static_cast<uint32_t>(text.size()));
  if (cps.empty()) return;
  cur.assign(1, static_cast<uint32_t>(cps.size()));
  for (const Rule& r : rules_) {
    next.clear();
    uint32_t b = 0;
    for (uint32_t e : cur) {
      apply(r, cps.data(), b, e, next);
      b = e;
    }
    std::swap(cur, next);
  }
  for (uint32_t e : cur) word_ends.push_back(offset[e]);
}

}  // namespace llm
