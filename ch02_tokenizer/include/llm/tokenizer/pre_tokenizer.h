// PreTokenizer — splits text into words before byte-level BPE, so merges never cross a word
// boundary ("dog." is "dog" + ".", never "do" + "g.").
//
// Models describe this split with regular expressions; GPT-2's is
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Here each pattern is written by hand over Unicode classes (no regex library). A model's
// pre-tokenizer is a list of rules applied in turn, as llama.cpp does: each rule re-splits every
// piece the previous rules made, keeping both what it matched and the text in between. So
// StarCoder's "\p{N}" then GPT-2 first isolates every digit, then splits the rest as GPT-2.
// The list is chosen by GGUF's `tokenizer.ggml.pre` name ("gpt-2", "smollm", "falcon", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llm {

class PreTokenizer {
 public:
  enum class Kind : uint8_t {
    Gpt2,           // the whole GPT-2 pattern above
    EachChar,       // X        every matching character alone (\p{N}, [\r\n])
    Run,            // X+       runs of matching characters
    SpaceRun,       // \s?X+    a run with at most one whitespace before it
    DigitTriples,   // [0-9][0-9][0-9]
    TrailingSpace,  // \s+$     whitespace at the end of the piece
  };
  struct Rule {
    Kind kind;
    bool (*match)(char32_t) = nullptr;  // the class X
  };

  // The rules of a `tokenizer.ggml.pre` name; "" and "default" give llama.cpp's default list.
  // Throws llm::Error for a name it does not know, listing the ones it does.
  static PreTokenizer by_name(std::string_view name);
  static std::string known_names();
  PreTokenizer(std::string name, std::vector<Rule> rules)
      : name_(std::move(name)), rules_(std::move(rules)) {}

  // Appends to `word_ends` the end offset (in bytes) of every word of `text`, in order.
  void split(std::string_view text, std::vector<size_t>& word_ends) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<Rule> rules_;
};

}  // namespace llm
