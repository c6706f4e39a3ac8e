// Generation loop — prompt in, tokens out, streamed through a callback.
//
// Two modes, the first rung of the optimization ladder:
//   incremental (default): prefill the prompt once, then feed one new token per step; the KV
//                          cache holds the history.
//   recompute (--no-kv-cache): every step resets the cache and re-feeds the whole sequence —
//                          the naive baseline, quadratic in the length.
// Both must produce identical tokens.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm/tokenizer/tokenizer.h"
#include "llm/transformer/sampler.h"
#include "llm/transformer/transformer.h"

namespace llm {

enum class StopReason { MaxTokens, EndOfSequence, StopString, Callback, ContextFull };
const char* stop_reason_name(StopReason r);

struct GenerateOptions {
  int max_tokens = 128;
  SamplerConfig sampler;
  bool use_kv_cache = true;
  std::vector<int32_t> stop_ids;          // e.g. EOS, <|im_end|>
  std::vector<std::string> stop_strings;  // stop when the text ends with one (it is not emitted)
  int seq = 0;                            // sequence id in the cache
};

struct GenerateResult {
  std::vector<int32_t> ids;  // generated ids (prompt excluded; a stop id is not included)
  std::string text;          // decoded text (empty without a tokenizer)
  StopReason reason = StopReason::MaxTokens;
  int n_prompt = 0;
  double prompt_seconds = 0;
  double gen_seconds = 0;
  double prompt_tok_s() const { return prompt_seconds > 0 ? n_prompt / prompt_seconds : 0; }
  double gen_tok_s() const { return gen_seconds > 0 ? ids.size() / gen_seconds : 0; }
};

// A sequence's text as it is generated: complete UTF-8 only; a stop string ends it (the stop
// string and anything after it are not emitted), and text that could be the start of a stop
// string is held back until that is decided. generate() uses one; chapter 7's engine one per
// sequence. Without a tokenizer there is no text and no stop string can match.
class TextStream {
 public:
  TextStream(const Tokenizer* tokenizer, std::vector<std::string> stop_strings);
  // Appends a token; returns the text that became safe to emit (maybe empty).
  std::string_view push(int32_t id);
  // At the end of the stream (not after a stop): what was held back.
  std::string_view finish();
  bool stopped() const { return stopped_; }
  const std::string& text() const { return text_; }  // the text so far (cut at a stop string)

 private:
  std::optional<StreamDecoder> decoder_;
  std::vector<std::string> stops_;
  std::string text_;
  size_t emitted_ = 0;
  bool stopped_ = false;
};

// Called with each new token and its text (complete UTF-8 only; may be empty); return false
// to stop.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

// Generates from `prompt` (already tokenized, BOS included if wanted). `tokenizer` may be null
// (ids only: no text, no stop strings).
GenerateResult generate(Transformer& model, const Tokenizer* tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options,
                        const TokenCallback& on_token = {});

}  // namespace llm
