// The OpenAI API's wire format: request bodies of /v1/chat/completions and /v1/completions
// into chapter 7's Requests (every field type- and range-checked, errors naming the field), and
// the engine's events back into response objects and stream chunks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/batching/request.h"
#include "llm/config/error.h"
#include "llm/loading/load_model.h"

namespace llm::server {

using json = nlohmann::json;

// A bad request: the HTTP status and OpenAI's error type travel with the message.
class ApiError : public Error {
 public:
  ApiError(int status, std::string type, const std::string& message, std::string param = {})
      : Error(message), status_(status), type_(std::move(type)), param_(std::move(param)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }

 private:
  int status_;
  std::string type_, param_;
};

// The {"error": {...}} body OpenAI clients read.
json error_body(const std::string& message, const std::string& type, const std::string& param = {},
                int code = 0);

struct ServedModel {
  const LoadedModel* model = nullptr;
  std::string name;  // what /v1/models lists and requests must name (or omit)
  int context = 0;   // positions per sequence
  int max_samples = 16;
};

// A parsed completion request.
struct ApiRequest {
  bool chat = false;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;  // chat: logprobs: true; completions: logprobs: N
  int top_logprobs = 0;
  Request request;
};

// Throws ApiError (400) for a body that is not a valid request for `m`.
ApiRequest parse_request(const json& body, const ServedModel& m, bool chat, uint64_t default_seed);

// One sample's accumulated output, for a non-streamed response.
struct Choice {
  std::string text;
  std::vector<TokenEvent> tokens;  // with logprobs when asked
  FinishReason reason = FinishReason::Stop;
  bool finished = false;
};

const char* finish_reason_text(FinishReason r);  // "stop", "length", ...
json logprobs_json(const ApiRequest& r, const Tokenizer& tok, const std::vector<TokenEvent>& events,
                   size_t text_offset);
json response_json(const ApiRequest& r, const ServedModel& m, const std::string& id,
                   int64_t created, const std::vector<Choice>& choices, int prompt_tokens);
// One streamed event as a chunk object (token text, or the final chunk of a sample).
json chunk_json(const ApiRequest& r, const ServedModel& m, const std::string& id, int64_t created,
                const TokenEvent& e, bool first_of_sample);
json usage_json(int prompt_tokens, int completion_tokens);

}  // namespace llm::server
