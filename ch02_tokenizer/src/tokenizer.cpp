#include "llm/tokenizer/tokenizer.h"

#include <charconv>
#include <cstdint>

#include "llm/config/error.h"
#include "llm/config/gguf_metadata.h"
#include "llm/config/mapped_file.h"
#include "llm/tokenizer/bpe_tokenizer.h"
#include "llm/tokenizer/unicode.h"

namespace llm {

// ---- Tokenizer ---------------------------------------------------------------------------

Tokenizer::~Tokenizer() = default;

bool Tokenizer::is_special(int32_t) const {
  return false;
}
std::optional<int32_t> Tokenizer::find_token(std::string_view) const {
  return std::nullopt;
}
std::vector<int32_t> Tokenizer::stop_ids() const {
  return eos_id() >= 0 ? std::vector<int32_t>{eos_id()} : std::vector<int32_t>{};
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                std::to_string(vocab_size()) + ")");
}

void Tokenizer::append_text(std::string& out, int32_t prev, int32_t id, bool render_special) const {
  if (render_special && is_special(id)) {
    out += piece(id);
    return;
  }
  const std::string bytes = token_bytes(id);
  // The encoder put a space before the text and after each special token; take it back.
  const bool at_start = prev < 0 || is_special(prev);
  const size_t skip = strips_prefix_space() && at_start && !bytes.empty() && bytes[0] == ' ';
  out.append(bytes, skip, std::string::npos);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    append_text(out, prev, id, render_special);
    prev = id;
  }
  return out;
}

// ---- StreamDecoder -------------------------------------------------------------------------

std::string StreamDecoder::push(int32_t id) {
  tok_->append_text(pending_, prev_, id, render_special_);
  prev_ = id;
  const size_t n = utf8_complete_prefix(pending_);
  std::string ready = pending_.substr(0, n);
  pending_.erase(0, n);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = std::move(pending_);
  pending_.clear();
  return rest;
}

// ---- BpeTokenizer --------------------------------------------------------------------------

BpeTokenizer::BpeTokenizer(Vocab vocab) : vocab_(std::move(vocab)), specials_(vocab_) {}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  const std::string& p = vocab_.pieces[static_cast<size_t>(id)];
  switch (vocab_.type(id)) {
    case TokenType::Control:
      return "";
    case TokenType::Unknown:
      return "\xEF\xBF\xBD";
    case TokenType::UserDefined:
      return p;  // added tokens are stored as plain text
    default:
      return piece_bytes(p, vocab_.type(id));
  }
}

std::string BpeTokenizer::piece(int32_t id) const {
  check_id(id);
  return vocab_.pieces[static_cast<size_t>(id)];
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (opt.add_bos && vocab_.add_bos) out.push_back(vocab_.bos);
  bool after_special = true;
  for (const TextFragment& f : specials_.split(text, opt.parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_raw(text.substr(f.begin, f.end - f.begin), after_special, out);
      after_special = false;
    }
  }
  return out;
}

// ---- Loading -------------------------------------------------------------------------------

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path, int32_t vocab_size_hint) {
  const auto file = MappedFile::open(path);
  const std::string_view head(reinterpret_cast<const char*>(file->data()),
                              std::min<size_t>(file->size(), 64));
  if (head.starts_with("GGUF")) return tokenizer_from_gguf(GgufMetadata::parse(file));
  const size_t bom = head.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // a UTF-8 byte-order mark
  const size_t first = head.find_first_not_of(" \t\r\n", bom);
  if (first != std::string_view::npos && head[first] == '{') return tokenizer_from_hf_json(path);
  return tokenizer_from_llama2c(path, vocab_size_hint);
}

std::vector<int32_t> parse_token_ids(std::string_view text, std::string_view what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto separator = [](char c) {
    return c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '[' || c == ']';
  };
  while (i < text.size()) {
    if (separator(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !separator(text[end])) ++end;
    const std::string word(text.substr(i, end - i));
    int64_t v = 0;
    const auto [rest, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || rest != word.data() + word.size() || v < 0 || v > INT32_MAX)
      throw Error(std::string(what) + ": '" + word + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
    i = end;
  }
  return ids;
}

}  // namespace llm
