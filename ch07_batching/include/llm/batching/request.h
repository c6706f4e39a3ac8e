// Request — what a client asks the engine for, and the events it gets back.
//
// Each request carries its own sampling parameters and seed, stop ids and strings, token
// limit and sample count, so requests batched together never share anything but the weights
// and, where prompts agree, cached KV blocks. Sample i of a request with seed S draws with seed
// S + i: it gives exactly what a lone request with seed S + i gives.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "llm/transformer/sampler.h"

namespace llm {

struct RequestParams {
  SamplerConfig sampler;                  // temperature 0 = greedy; seed
  int max_tokens = 128;                   // tokens to generate at most (per sample)
  std::vector<int32_t> stop_ids;          // e.g. EOS, <|im_end|>: generation ends, not emitted
  std::vector<std::string> stop_strings;  // the text ends before the first one
  int n = 1;                              // samples; n > 1 shares the prompt's KV blocks
  int logprobs = -1;  // >= 0: each token event carries its log-probability and this many of the
                      // most likely alternatives (of the model's distribution, before sampling)
};

struct Request {
  std::vector<int32_t> prompt;  // token ids, BOS included if the model wants one
  RequestParams params;
};

enum class FinishReason {
  Stop,       // a stop id or stop string
  Length,     // max_tokens reached
  Context,    // the sequence filled the context
  Cancelled,  // cancel() was called
  Error,      // the forward pass failed (the message says why)
};
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

// One event per generated token, then one final event (token -1) with the reason.
struct TokenEvent {
  uint64_t request = 0;
  int sample = 0;      // 0..n-1
  int32_t token = -1;  // -1 on the final event
  std::string text;    // complete UTF-8 now safe to show (empty without a tokenizer)
  bool finished = false;
  FinishReason reason = FinishReason::Stop;  // when finished
  std::string error;                         // when reason == Error
  int n_prompt = 0;                          // prompt tokens
  int n_cached = 0;  // prompt tokens taken from the prefix cache (first admission)
  int n_generated = 0;
  float logprob = 0;                                    // when requested
  std::vector<std::pair<int32_t, float>> top_logprobs;  // most likely first
};

// Called on the engine's thread, in order, for each event of a request: keep it short. It may
// call Engine::cancel.
using EventCallback = std::function<void(const TokenEvent&)>;

}  // namespace llm
