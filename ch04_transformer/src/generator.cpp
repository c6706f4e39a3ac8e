#include "llm/transformer/generator.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "llm/config/error.h"

namespace llm {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Feeds tokens[from..] at positions from.. in chunks of max_batch; returns the logits of the
// last token.
std::span<const float> feed(Transformer& model, Batch& batch, std::span<const int32_t> tokens,
                            int from, int seq) {
  std::span<const float> logits;
  const int n = static_cast<int>(tokens.size());
  for (int start = from; start < n; start += model.max_batch()) {
    const int end = std::min(n, start + model.max_batch());
    batch.clear();
    for (int i = start; i < end; ++i) batch.add(tokens[static_cast<size_t>(i)], i, seq, i == n - 1);
    logits = model.forward(batch);
  }
  return logits;
}

}  // namespace

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::MaxTokens:
      return "length";
    case StopReason::EndOfSequence:
      return "eos";
    case StopReason::StopString:
      return "stop";
    case StopReason::Callback:
      return "cancelled";
    case StopReason::ContextFull:
      return "context";
  }
  return "?";
}

TextStream::TextStream(const Tokenizer* tokenizer, std::vector<std::string> stop_strings)
    : stops_(std::move(stop_strings)) {
  if (tokenizer) decoder_.emplace(*tokenizer);
}

std::string_view TextStream::push(int32_t id) {
  if (!decoder_ || stopped_) return {};
  text_ += decoder_->push(id);
  size_t safe = text_.size();
  for (const std::string& s : stops_) {
    if (s.empty()) continue;
    if (const size_t at = text_.find(s, emitted_ > s.size() ? emitted_ - s.size() : 0);
        at != std::string::npos) {
      text_.resize(at);
      safe = at;
      stopped_ = true;
      break;
    }
    for (size_t k = std::min(s.size() - 1, text_.size()); k > 0; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        safe = std::min(safe, text_.size() - k);
        break;
      }
  }
  const std::string_view fresh = std::string_view(text_).substr(
      std::min(emitted_, safe), safe > emitted_ ? safe - emitted_ : 0);
  if (safe > emitted_) emitted_ = safe;
  return fresh;
}

std::string_view TextStream::finish() {
  if (!decoder_ || stopped_) return {};
  text_ += decoder_->flush();
  const std::string_view rest = std::string_view(text_).substr(std::min(emitted_, text_.size()));
  emitted_ = text_.size();
  return rest;
}

GenerateResult generate(Transformer& model, const Tokenizer* tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& opt,
                        const TokenCallback& on_token) {
  if (prompt.empty()) throw Error("the prompt is empty (at least one token, e.g. BOS, is needed)");
  const int ctx = model.cache().max_tokens();
  if (static_cast<int>(prompt.size()) > ctx)
    throw Error("the prompt has " + std::to_string(prompt.size()) +
                " tokens but the context holds " + std::to_string(ctx));

  GenerateResult res;
  res.n_prompt = static_cast<int>(prompt.size());
  std::vector<int32_t> tokens(prompt.begin(), prompt.end());
  tokens.reserve(prompt.size() + static_cast<size_t>(std::max(0, opt.max_tokens)));
  Sampler sampler(opt.sampler);
  Batch batch;
  TextStream stream(tokenizer, opt.stop_strings);

  model.cache().truncate(opt.seq, 0);
  auto t0 = Clock::now();
  std::span<const float> logits = feed(model, batch, tokens, 0, opt.seq);
  res.prompt_seconds = seconds_since(t0);
  t0 = Clock::now();

  for (int step = 0; step < opt.max_tokens; ++step) {
    const int32_t next = sampler.sample(logits, tokens);
    if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), next) != opt.stop_ids.end()) {
      res.reason = StopReason::EndOfSequence;
      break;
    }
    tokens.push_back(next);
    res.ids.push_back(next);
    const std::string_view fresh = stream.push(next);
    const bool stopped = stream.stopped();
    if (on_token && !on_token(next, fresh)) {
      res.reason = StopReason::Callback;
      break;
    }
    if (stopped) {
      res.reason = StopReason::StopString;
      break;
    }
    if (step + 1 == opt.max_tokens) break;
    if (static_cast<int>(tokens.size()) >= ctx) {
      res.reason = StopReason::ContextFull;
      break;
    }
    if (opt.use_kv_cache) {
      logits = feed(model, batch, tokens, static_cast<int>(tokens.size()) - 1, opt.seq);
    } else {
      model.cache().truncate(opt.seq, 0);  // the naive baseline: recompute everything
      logits = feed(model, batch, tokens, 0, opt.seq);
    }
  }
  if (res.reason != StopReason::StopString)
    if (const std::string_view rest = stream.finish(); on_token && !rest.empty())
      on_token(-1, rest);
  res.text = stream.text();
  res.gen_seconds = seconds_since(t0);
  return res;
}

}  // namespace llm
