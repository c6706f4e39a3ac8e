#include "llm/tokenizer/vocab.h"

#include "llm/config/error.h"

namespace llm {

namespace {

// Tokens that end a turn in common chat formats; generation stops on any of them.
constexpr std::string_view kEndOfGeneration[] = {
    "<|im_end|>",    "<|eot_id|>",    "<|eom_id|>",      "<|end|>",
    "<|endoftext|>", "<end_of_turn>", "<|end_of_text|>", "<EOT>",
};

}  // namespace

void Vocab::finalize() {
  const size_t n = pieces.size();
  if (n == 0) throw Error(source + ": the vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX))
    throw Error(source + ": " + std::to_string(n) + " tokens do not fit 32-bit ids");
  if (types.empty()) types.assign(n, TokenType::Normal);
  if (types.size() != n)
    throw Error(source + ": token types has " + std::to_string(types.size()) +
                " entries but there are " + std::to_string(n) + " tokens");
  if (!scores.empty() && scores.size() != n)
    throw Error(source + ": scores has " + std::to_string(scores.size()) +
                " entries but there are " + std::to_string(n) + " tokens");
  if (!strip.empty() && strip.size() != n) throw Error(source + ": strip flags size mismatch");
  const auto check_id = [&](int32_t id, const char* what) {
    if (id != -1 && !valid(id))
      throw Error(source + ": " + what + " id " + std::to_string(id) + " is outside [0, " +
                  std::to_string(n) + ")");
  };
  check_id(bos, "BOS");
  check_id(eos, "EOS");
  check_id(unk, "unknown-token");
  if (add_bos && bos < 0) throw Error(source + ": asks to add a BOS token but has none");

  index_.clear();
  index_.reserve(n);
  // A piece listed twice maps to its last id, as in llama.cpp.
  for (size_t i = 0; i < n; ++i) index_[pieces[i]] = static_cast<int32_t>(i);

  eog.clear();
  if (eos >= 0) eog.push_back(eos);
  for (std::string_view name : kEndOfGeneration) {
    const int32_t id = find_or(name, -1);
    if (id < 0 || id == eos || !is_special(id)) continue;
    eog.push_back(id);
  }
}

}  // namespace llm
