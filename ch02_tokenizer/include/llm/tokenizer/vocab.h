// Vocab — the token table every tokenizer is built on: id -> piece (the vocabulary's own
// spelling: "▁Hello" in SentencePiece, "Ġworld" in byte-level BPE), piece -> id, scores, token
// types and the ids with a role (BOS, EOS, unknown, end of generation).
//
// The loaders (GGUF, llama2.c tokenizer.bin, tokenizer.json) fill one of these and call
// `finalize`, which validates it; the two tokenizer families only read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llm {

// The values of GGUF's tokenizer.ggml.token_type (llama.cpp's llama_token_type).
enum class TokenType : uint8_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

class Vocab {
 public:
  std::string source;               // file name, for error messages
  std::vector<std::string> pieces;  // [n_tokens]
  std::vector<float> scores;        // [n_tokens] SentencePiece merge priorities, or empty
  std::vector<TokenType> types;     // [n_tokens]
  // Added tokens from tokenizer.json may eat the whitespace beside them (lstrip / rstrip).
  std::vector<uint8_t> strip;  // [n_tokens] or empty: bit 0 = lstrip, bit 1 = rstrip
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false;      // what the file asks for; EncodeOptions::add_bos can only turn it off
  std::vector<int32_t> eog;  // end-of-generation ids: eos plus <|im_end|>, <|eot_id|>, ...

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
  // Checks array lengths and special ids, fills missing types, builds the index and the
  // end-of-generation list. Throws llm::Error naming `source` and the field.
  void finalize();

  std::optional<int32_t> find(std::string_view piece) const {
    auto it = index_.find(piece);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  int32_t find_or(std::string_view piece, int32_t fallback) const {
    auto it = index_.find(piece);
    return it == index_.end() ? fallback : it->second;
  }
  TokenType type(int32_t id) const { return types[static_cast<size_t>(id)]; }
  // Control, user-defined and unknown tokens are matched in raw text before BPE runs.
  bool is_special(int32_t id) const {
    const TokenType t = type(id);
    return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
  }
  bool valid(int32_t id) const { return id >= 0 && id < size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_;
};

}  // namespace llm
