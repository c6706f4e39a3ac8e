// Jinja lexer: template text -> literal text and tags, each tag a list of tokens. Whitespace
// control ({%- -%}), trim_blocks and lstrip_blocks are applied here, exactly as jinja2's lexer
// applies them.
#include <cctype>
#include <cstring>

#include "jinja.h"
#include "llm/config/error.h"
#include "llm/tokenizer/unicode.h"

namespace llm::jinja {

void fail(int line, const std::string& what) {
  throw Error("chat template: line " + std::to_string(line) + ": " + what);
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void append_utf8(std::string& out, uint32_t cp, int line) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    fail(line, "invalid code point in string escape");
  utf8_append(out, static_cast<char32_t>(cp));  // chapter 2's encoder
}

class Lexer {
 public:
  Lexer(const std::string& src, const ParseOptions& o) : s_(src), o_(o) {}

  std::vector<Item> run() {
    std::vector<Item> items;
    bool line_starting = true;
    while (pos_ < s_.size()) {
      size_t start = pos_;
      while ((start = s_.find('{', start)) != std::string::npos) {
        const char c = start + 1 < s_.size() ? s_[start + 1] : '\0';
        if (c == '{' || c == '%' || c == '#') break;
        ++start;
      }
      if (start == std::string::npos) {
        push_text(items, s_.substr(pos_));
        break;
      }
      std::string text = s_.substr(pos_, start - pos_);
      const char kind = s_[start + 1];
      const char sign = start + 2 < s_.size() && (s_[start + 2] == '-' || s_[start + 2] == '+')
                            ? s_[start + 2]
                            : '\0';
      if (sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (sign != '+' && o_.lstrip_blocks && kind != '{') {
        // Jinja's lstrip_blocks: a block tag alone on its line takes the indentation with it.
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
          bool blank = true;
          for (size_t i = l_pos; i < text.size(); ++i) blank = blank && is_space(text[i]);
          if (blank) text.resize(l_pos);
        }
      }
      advance_to(start);
      push_text(items, text);
      const int tag_line = line_;
      advance_to(start + 2 + (sign ? 1 : 0));
      if (kind == '#') {
        const size_t end = s_.find("#}", pos_);
        if (end == std::string::npos) fail(tag_line, "missing end of comment tag");
        const char before = end > pos_ ? s_[end - 1] : '\0';
        advance_to(end + 2);
        close_tag(before == '-' ? '-' : before == '+' ? '+' : '\0', true);
      } else {
        Item item{kind == '{' ? Item::Var : Item::Block, "", {}, tag_line};
        const char close_sign = lex_tag(item, kind == '{' ? "}}" : "%}");
        close_tag(close_sign, kind == '%');
        items.push_back(std::move(item));
      }
      line_starting = pos_ > 0 && s_[pos_ - 1] == '\n';
    }
    return items;
  }

 private:
  void push_text(std::vector<Item>& items, std::string text) {
    if (!text.empty()) items.push_back(Item{Item::Text, std::move(text), {}, line_});
  }
  void advance_to(size_t p) {
    for (; pos_ < p; ++pos_)
      if (s_[pos_] == '\n') ++line_;
  }
  // After a closer: `-` eats the whitespace that follows; trim_blocks eats one newline.
  void close_tag(char sign, bool block) {
    if (sign == '-') {
      size_t p = pos_;
      while (p < s_.size() && is_space(s_[p])) ++p;
      advance_to(p);
    } else if (sign != '+' && block && o_.trim_blocks && pos_ < s_.size() && s_[pos_] == '\n') {
      advance_to(pos_ + 1);
    }
  }

  // Tokens of one tag up to its closer ("}}" or "%}", optionally signed). Returns the sign.
  char lex_tag(Item& item, const char* closer) {
    int depth = 0;  // brackets: a closer inside them is an operator, as in Jinja
    for (;;) {
      while (pos_ < s_.size() && is_space(s_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= s_.size()) fail(item.line, std::string("missing '") + closer + "'");
      const char c = s_[pos_];
      if (depth == 0) {
        if (s_.compare(pos_, 2, closer) == 0) {
          advance_to(pos_ + 2);
          return '\0';
        }
        if ((c == '-' || (c == '+' && closer[0] == '%')) && s_.compare(pos_ + 1, 2, closer) == 0) {
          advance_to(pos_ + 3);
          return c;
        }
      }
      Token t;
      t.line = line_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_'))
          ++e;
        t.type = Token::Name;
        t.text = s_.substr(pos_, e - pos_);
        advance_to(e);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(t);
      } else if (c == '\'' || c == '"') {
        lex_string(t);
      } else {
        static const char* ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                    "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                    ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};
        const char* op = nullptr;
        for (const char* o : ops)
          if (s_.compare(pos_, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        if (!op) fail(line_, std::string("unexpected character '") + c + "'");
        t.type = Token::Op;
        t.text = op;
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0) --depth;
        advance_to(pos_ + t.text.size());
      }
      item.tokens.push_back(std::move(t));
    }
  }

  void lex_number(Token& t) {
    size_t e = pos_;
    int64_t v = 0;
    while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) {
      if (s_[e] != '_' && __builtin_mul_overflow(v, 10, &v))
        fail(line_, "integer literal too large");
      if (s_[e] != '_' && __builtin_add_overflow(v, s_[e] - '0', &v))
        fail(line_, "integer literal too large");
      ++e;
    }
    if (e + 1 < s_.size() && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1])))
      fail(line_, "float literals are not supported");
    t.type = Token::Int;
    t.value = v;
    t.text = s_.substr(pos_, e - pos_);
    advance_to(e);
  }

  // Python string literal escapes, as jinja2 decodes them ("unicode-escape").
  void lex_string(Token& t) {
    const char q = s_[pos_];
    const int line = line_;
    size_t p = pos_ + 1;
    std::string out;
    for (;;) {
      if (p >= s_.size()) fail(line, "unterminated string literal");
      const char c = s_[p++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p >= s_.size()) fail(line, "unterminated string literal");
      const char e = s_[p++];
      auto hex = [&](int n) {
        uint32_t cp = 0;
        for (int i = 0; i < n; ++i, ++p) {
          if (p >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[p])))
            fail(line, "bad \\x/\\u escape in string literal");
          const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[p])));
          cp = cp * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        return cp;
      };
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          break;  // a backslash-newline continues the line
        case 'x':
          append_utf8(out, hex(2), line);
          break;
        case 'u':
          append_utf8(out, hex(4), line);
          break;
        case 'U':
          append_utf8(out, hex(8), line);
          break;
        case 'N':
          fail(line, "\\N{...} escapes are not supported");
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7'; ++i)
              cp = cp * 8 + static_cast<uint32_t>(s_[p++] - '0');
            append_utf8(out, cp, line);
          } else {
            out += '\\';  // Python keeps unknown escapes as written
            out += e;
          }
      }
    }
    t.type = Token::String;
    t.text = std::move(out);
    advance_to(p);
  }

  const std::string& s_;
  ParseOptions o_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<Item> lex(const std::string& source, const ParseOptions& options) {
  // Like jinja2: newlines normalised to "\n" and one trailing newline dropped.
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src += source[i];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  Lexer lexer(src, options);
  return lexer.run();
}

}  // namespace llm::jinja
