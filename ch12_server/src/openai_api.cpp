#include "llm/server/openai_api.h"

#include <cmath>
#include <limits>

namespace llm::server {
namespace {

[[noreturn]] void bad(const std::string& param, const std::string& what) {
  throw ApiError(400, "invalid_request_error", param + ": " + what, param);
}

// A number field in [lo, hi]; `fallback` when absent or null.
double number(const json& b, const char* key, double fallback, double lo, double hi) {
  const auto it = b.find(key);
  if (it == b.end() || it->is_null()) return fallback;
  if (!it->is_number()) bad(key, "must be a number");
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi))
    bad(key,
        "must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + it->dump());
  return v;
}

// An integer field in [lo, hi].
int64_t integer(const json& b, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  const auto it = b.find(key);
  if (it == b.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) bad(key, "must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi))
    bad(key, "must be at most " + std::to_string(hi) + ", got " + it->dump());
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi)
    bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                 it->dump());
  return v;
}

bool boolean(const json& b, const char* key, bool fallback) {
  const auto it = b.find(key);
  if (it == b.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad(key, "must be true or false");
  return it->get<bool>();
}

// Message content: a string, or an array of {"type": "text", "text": ...} parts.
std::string content_text(const json& c, const std::string& where) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_null()) return {};
  if (!c.is_array()) bad(where, "must be a string or an array of text parts");
  std::string out;
  for (const json& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      bad(where, "only parts {\"type\": \"text\", \"text\": \"...\"} are supported");
    out += part["text"].get<std::string>();
  }
  return out;
}

std::vector<int32_t> prompt_tokens(const json& body, const ServedModel& m, bool chat) {
  const Tokenizer& tok = *m.model->tokenizer;
  if (chat) {
    const auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
      bad("messages", "must be a non-empty array of {\"role\", \"content\"} objects");
    std::vector<ChatMessage> msgs;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& msg = (*it)[i];
      const std::string where = "messages[" + std::to_string(i) + "]";
      if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string())
        bad(where, "must be an object with a string \"role\"");
      const std::string role = msg["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant" && role != "developer")
        bad(where + ".role", "must be system, developer, user or assistant, got '" + role + "'");
      msgs.push_back({role == "developer" ? "system" : role,
                      content_text(msg.value("content", json()), where + ".content")});
    }
    try {
      return tok.encode(render_chat(*m.model, msgs), {.add_bos = true, .parse_special = true});
    } catch (const Error& e) {
      throw ApiError(400, "invalid_request_error", std::string("messages: ") + e.what(),
                     "messages");
    }
  }
  const auto it = body.find("prompt");
  if (it == body.end()) bad("prompt", "is required");
  if (it->is_string()) return tok.encode(it->get<std::string>(), {.add_bos = true});
  if (it->is_array() && it->size() == 1 && (*it)[0].is_string())
    return tok.encode((*it)[0].get<std::string>(), {.add_bos = true});
  if (it->is_array() && !it->empty() &&
      std::all_of(it->begin(), it->end(), [](const json& x) { return x.is_number_integer(); })) {
    std::vector<int32_t> ids;
    for (const json& x : *it) {
      const int64_t id = x.get<int64_t>();
      if (id < 0 || id >= m.model->model->config.vocab_size)
        bad("prompt", "token id " + std::to_string(id) + " is outside the vocabulary");
      ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
  }
  bad("prompt", "must be a string, an array of one string, or an array of token ids");
}

}  // namespace

json error_body(const std::string& message, const std::string& type, const std::string& param,
                int code) {
  json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (code) e["code"] = code;
  return {{"error", e}};
}

ApiRequest parse_request(const json& body, const ServedModel& m, bool chat, uint64_t default_seed) {
  if (!body.is_object())
    throw ApiError(400, "invalid_request_error", "the body must be a JSON object");
  if (const auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) bad("model", "must be a string");
    if (it->get<std::string>() != m.name)
      throw ApiError(400, "invalid_request_error",
                     "model '" + it->get<std::string>() +
                         "' is not served here (this server has '" + m.name + "')",
                     "model");
  }
  ApiRequest r;
  r.chat = chat;
  r.stream = boolean(body, "stream", false);
  if (const auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) bad("stream_options", "must be an object");
    r.include_usage = boolean(*it, "include_usage", false);
  }
  RequestParams& p = r.request.params;
  SamplerConfig& s = p.sampler;
  s.temperature = static_cast<float>(number(body, "temperature", 1.0, 0.0, 2.0));
  s.top_p = static_cast<float>(number(body, "top_p", 1.0, 0.0, 1.0));
  if (s.top_p <= 0.0f) bad("top_p", "must be greater than 0");
  s.top_k = static_cast<int>(integer(body, "top_k", 0, 0, 1 << 20));
  s.min_p = static_cast<float>(number(body, "min_p", 0.0, 0.0, 1.0));
  s.presence_penalty = static_cast<float>(number(body, "presence_penalty", 0.0, -2.0, 2.0));
  s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", 0.0, -2.0, 2.0));
  s.repeat_penalty = static_cast<float>(number(body, "repetition_penalty", 1.0, 0.01, 10.0));
  s.seed = static_cast<uint64_t>(integer(body, "seed", static_cast<int64_t>(default_seed >> 1),
                                         std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max()));
  p.n = static_cast<int>(integer(body, "n", 1, 1, m.max_samples));
  const char* max_key =
      body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  p.max_tokens = static_cast<int>(integer(body, max_key, std::min(512, m.context), 1, m.context));
  if (const auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      p.stop_strings.push_back(it->get<std::string>());
    } else if (it->is_array() && it->size() <= 4 &&
               std::all_of(it->begin(), it->end(), [](const json& x) { return x.is_string(); })) {
      for (const json& x : *it) p.stop_strings.push_back(x.get<std::string>());
    } else {
      bad("stop", "must be a string or an array of at most 4 strings");
    }
    for (const std::string& x : p.stop_strings)
      if (x.empty()) bad("stop", "stop strings must not be empty");
  }
  if (chat) {
    r.logprobs = boolean(body, "logprobs", false);
    r.top_logprobs = static_cast<int>(integer(body, "top_logprobs", 0, 0, 20));
    if (r.top_logprobs > 0 && !r.logprobs) bad("top_logprobs", "needs \"logprobs\": true");
  } else if (const auto it = body.find("logprobs"); it != body.end() && !it->is_null()) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(integer(body, "logprobs", 0, 0, 20));
  }
  p.logprobs = r.logprobs ? r.top_logprobs : -1;
  r.request.prompt = prompt_tokens(body, m, chat);
  if (static_cast<int>(r.request.prompt.size()) >= m.context)
    throw ApiError(400, "invalid_request_error",
                   "the prompt has " + std::to_string(r.request.prompt.size()) +
                       " tokens; the context holds " + std::to_string(m.context) +
                       " (prompt and at least one generated token)",
                   chat ? "messages" : "prompt");
  // llama.cpp's extension, for benchmarks: generate max_tokens whatever the model says.
  if (!boolean(body, "ignore_eos", false)) p.stop_ids = m.model->tokenizer->stop_ids();
  return r;
}

const char* finish_reason_text(FinishReason r) {
  // OpenAI has no "context": a sequence that filled the context stopped for its length.
  return r == FinishReason::Context ? "length" : finish_reason_name(r);
}

json usage_json(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json logprobs_json(const ApiRequest& r, const Tokenizer& tok, const std::vector<TokenEvent>& events,
                   size_t text_offset) {
  const auto bytes = [](const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(c);
    return b;
  };
  if (r.chat) {
    json content = json::array();
    for (const TokenEvent& e : events) {
      const std::string t = tok.token_bytes(e.token);
      json top = json::array();
      for (const auto& [id, lp] : e.top_logprobs) {
        const std::string s = tok.token_bytes(id);
        top.push_back({{"token", s}, {"logprob", lp}, {"bytes", bytes(s)}});
      }
      content.push_back(
          {{"token", t}, {"logprob", e.logprob}, {"bytes", bytes(t)}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenEvent& e : events) {
    const std::string t = tok.token_bytes(e.token);
    tokens.push_back(t);
    lps.push_back(e.logprob);
    json top = json::object();
    for (const auto& [id, lp] : e.top_logprobs) top[tok.token_bytes(id)] = lp;
    tops.push_back(top);
    offsets.push_back(text_offset);
    text_offset += t.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", lps},
          {"top_logprobs", tops},
          {"text_offset", offsets}};
}

json response_json(const ApiRequest& r, const ServedModel& m, const std::string& id,
                   int64_t created, const std::vector<Choice>& choices, int prompt_tokens) {
  json out = {{"id", id},
              {"object", r.chat ? "chat.completion" : "text_completion"},
              {"created", created},
              {"model", m.name},
              {"choices", json::array()}};
  int generated = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const Choice& c = choices[i];
    generated += static_cast<int>(c.tokens.size());
    json choice = {{"index", i},
                   {"finish_reason", finish_reason_text(c.reason)},
                   {"logprobs", r.logprobs ? logprobs_json(r, *m.model->tokenizer, c.tokens, 0)
                                           : json(nullptr)}};
    if (r.chat)
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    else
      choice["text"] = c.text;
    out["choices"].push_back(choice);
  }
  out["usage"] = usage_json(prompt_tokens, generated);
  return out;
}

json chunk_json(const ApiRequest& r, const ServedModel& m, const std::string& id, int64_t created,
                const TokenEvent& e, bool first_of_sample) {
  json choice = {{"index", e.sample}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (e.finished) choice["finish_reason"] = finish_reason_text(e.reason);
  if (!e.finished && r.logprobs) choice["logprobs"] = logprobs_json(r, *m.model->tokenizer, {e}, 0);
  if (r.chat) {
    json delta = json::object();
    if (first_of_sample) delta["role"] = "assistant";
    if (!e.text.empty() || !e.finished) delta["content"] = e.text;
    choice["delta"] = delta;
  } else {
    choice["text"] = e.text;
  }
  return {{"id", id},
          {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", m.name},
          {"choices", json::array({choice})}};
}

}  // namespace llm::server
