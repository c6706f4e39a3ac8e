// Tokenizer — text <-> token ids, the front and back of every model.
//
// Two families implement it (both BPE): SentencePiece-style (Llama-2, TinyStories, Phi-3: "▁"
// for spaces, merges by score, unknown characters spelled as <0xNN> byte tokens) in
// sentencepiece.h, and byte-level (GPT-2, StarCoder, SmolLM2: every byte is a character, a
// regex-like pre-tokenizer, merges by rank) in byte_level.h. Tokenizers come from a llama2.c
// tokenizer.bin, a Hugging Face tokenizer.json or the metadata of a GGUF file: chapter 4 loads
// the llama2.c one beside its checkpoint, chapter 10 takes the one inside a GGUF model
// (tokenizer_from_gguf), and the chat and server chapters stop generation on stop_ids().
// Tokenizers are immutable once loaded: encode() and decode() may run on many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llm {

class GgufMetadata;
class Registry;

struct EncodeOptions {
  bool add_bos = true;         // honoured only when the vocabulary uses a BOS (adds_bos())
  bool parse_special = false;  // recognise control tokens such as "<|im_start|>" in the text
};

class Tokenizer {
 public:
  virtual ~Tokenizer();

  virtual std::vector<int32_t> encode(std::string_view text,
                                      const EncodeOptions& opt = {}) const = 0;
  // The bytes token `id` stands for. Control tokens (BOS, "<|im_end|>") stand for no text and
  // give ""; the unknown token gives U+FFFD. Throws llm::Error for an id out of range.
  virtual std::string token_bytes(int32_t id) const = 0;
  // The vocabulary's own spelling of the token ("▁Hello", "Ġworld", "<|im_end|>").
  virtual std::string piece(int32_t id) const = 0;
  // Concatenated token_bytes; with render_special, control tokens appear as their piece.
  // SentencePiece: the space its encoder puts in front of the text is dropped again (from the
  // first token, and after any special token), as llama.cpp and llama2.c do.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const { return -1; }  // -1 when none
  virtual int32_t eos_id() const { return -1; }
  virtual bool adds_bos() const { return false; }  // whether encode() puts BOS first by default
  virtual bool is_special(int32_t id) const;       // control, user-defined, unknown tokens
  virtual std::optional<int32_t> find_token(std::string_view piece) const;
  // Tokens that end generation: EOS plus end-of-turn tokens (<|im_end|>, <|eot_id|>, ...).
  virtual std::vector<int32_t> stop_ids() const;
  // "sentencepiece" or "byte-level", plus the pre-tokenizer, for `llm info` and logs.
  virtual std::string describe() const = 0;

  // Appends the text of `id` to `out` when it follows `prev` (-1 at the start): token_bytes,
  // minus the SentencePiece prefix space where decode() drops it. Used by StreamDecoder.
  void append_text(std::string& out, int32_t prev, int32_t id, bool render_special) const;

 protected:
  // SentencePiece encoders prefix a space to the text; decoding removes it.
  virtual bool strips_prefix_space() const { return false; }
  void check_id(int32_t id) const;
};

// Turns ids into text as they are generated, one token at a time, never emitting half of a
// UTF-8 character (a token may end in the middle of one: byte fallback, emoji split over
// byte-level tokens). Bytes that can never form a character are passed through.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = false)
      : tok_(&tok), render_special_(render_special) {}
  std::string push(int32_t id);  // the complete characters now available (maybe "")
  std::string flush();           // what is still held back, at the end of the stream
  void reset() { prev_ = -1, pending_.clear(); }

 private:
  const Tokenizer* tok_;
  bool render_special_;
  int32_t prev_ = -1;
  std::string pending_;
};

// Token ids written by a person: "1 2 3", also "1,2,3" or "[1, 2, 3]". Throws llm::Error
// naming `what` (the option, say "--ids") for a word that is not an id in 0..INT32_MAX.
std::vector<int32_t> parse_token_ids(std::string_view text, std::string_view what);

// Loads a tokenizer by content: a GGUF file (magic "GGUF"), a tokenizer.json (a JSON object), or
// else a llama2.c tokenizer.bin, whose token count is `vocab_size_hint` when given (the model's
// vocab_size), otherwise every entry until the end of the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path, int32_t vocab_size_hint = 0);
std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufMetadata& meta);
std::unique_ptr<Tokenizer> tokenizer_from_llama2c(const std::string& path,
                                                  int32_t vocab_size_hint = 0);
std::unique_ptr<Tokenizer> tokenizer_from_hf_json(const std::string& path);

// This chapter registers no kernels; it keeps the register_<chapter>() chain whole.
void register_tokenizer(Registry& r);

}  // namespace llm
