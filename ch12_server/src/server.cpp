#include "llm/server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>

#include <sys/resource.h>
#include <unistd.h>

#include "chat_page.h"
#include "llm/batching/engine.h"
#include "llm/batching/event_queue.h"
#include "llm/cuda/cuda_backend.h"
#include "llm/loading/register.h"
#include "llm/parallel/tensor_parallel.h"
#include "llm/quant/kv_codec.h"
#include "llm/server/metrics.h"
#include "llm/server/openai_api.h"

namespace llm::server {
namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// JSON out: invalid UTF-8 (a token's raw bytes in logprobs) becomes U+FFFD instead of throwing.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string model_name_of(const std::string& path) {
  std::string n = path.substr(path.find_last_of('/') + 1);
  if (n.size() > 5 && n.ends_with(".gguf")) n.resize(n.size() - 5);
  return n;
}
thread_local Clock::time_point t_request_start;

// HTTP worker threads run at a lower priority than the engine's compute threads: a stream's
// worker waking to send a token must not take a core from a matmul that the other core's thread
// waits for at its next barrier (on a 2-core machine that cost ~10% of the aggregate).
void lower_this_threads_priority() {
  thread_local const bool done = [] {
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    return true;
  }();
  (void)done;
}

}  // namespace

struct Server::Impl {
  const LoadedModel& lm;
  ServerOptions opt;
  ServedModel served;
  cuda::DeviceBackend device;  // the model of one rank, when not sharded (before its cache)
  std::unique_ptr<PagedKvCache> own_cache;
  std::unique_ptr<Transformer> own_model;
  PagedKvCache* cache = nullptr;
  Transformer* model = nullptr;
  std::unique_ptr<Engine> engine;
  httplib::Server http;
  Metrics metrics;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex seed_mu;
  std::mt19937_64 seeds{std::random_device{}()};
  int port = 0;

  Impl(const LoadedModel& m, ServerOptions o, parallel::ShardedModel* sharded)
      : lm(m), opt(std::move(o)) {
    if (!lm.tokenizer) throw Error(lm.path + ": the model has no tokenizer; the server needs one");
    if (sharded) {
      cache = &sharded->cache();
      model = &sharded->transformer();
    } else {
      Registry reg;
      register_loading(reg);
      // A request's tokens never depend on its batch: batch-invariant kernels, on either device.
      device = cuda::make_device_backend(
          opt.device, batch_invariant_kernels(reg),
          opt.threads > 0 ? opt.threads : ThreadPool::physical_cores(), /*batch_invariant=*/true);
      PagedKvOptions kv = server_kv_options(opt);
      kv.memory = device.kv_memory.get();
      own_cache = std::make_unique<PagedKvCache>(lm.model->config, kv);
      own_model = std::make_unique<Transformer>(*lm.model, *device.backend, *own_cache, 512);
      cache = own_cache.get();
      model = own_model.get();
    }
    EngineConfig ec;
    ec.scheduler.max_batch_tokens = 512;
    ec.scheduler.max_running = opt.max_concurrency;
    engine = std::make_unique<Engine>(*model, *cache, lm.tokenizer.get(), ec);
    served = {&lm, opt.served_model_name.empty() ? model_name_of(lm.path) : opt.served_model_name,
              cache->max_tokens(), ec.max_samples};
    routes();
  }

  void send(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(dump(body), "application/json");
  }
  void send_error(httplib::Response& res, int status, const std::string& message,
                  const std::string& type, const std::string& param = {}) {
    send(res, status, error_body(message, type, param));
  }
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (opt.api_key.empty() || req.get_header_value("Authorization") == "Bearer " + opt.api_key)
      return true;
    send_error(res, 401, "invalid API key (send \"Authorization: Bearer KEY\")",
               "authentication_error");
    return false;
  }
  uint64_t next_seed() {
    std::lock_guard lock(seed_mu);
    return seeds();
  }

  // A token of a request that started at t0 arrived now: time to first token when it is the
  // first (last unset), else the time since the previous one.
  void observe_token(Clock::time_point t0, Clock::time_point& last) {
    const Clock::time_point now = Clock::now();
    if (last == Clock::time_point{})
      metrics.ttft.observe(seconds(now - t0));
    else
      metrics.itl.observe(seconds(now - last));
    last = now;
  }

  // Parses a body as JSON, or answers 400 and returns nullopt.
  std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res) {
    try {
      return json::parse(req.body);
    } catch (const json::exception& e) {
      send_error(res, 400, std::string("malformed JSON: ") + e.what(), "invalid_request_error");
      return std::nullopt;
    }
  }

  void completions(const httplib::Request& req, httplib::Response& res, bool chat) {
    if (!authorized(req, res)) return;
    const auto body = parse_body(req, res);
    if (!body) return;
    ApiRequest r;
    try {
      r = parse_request(*body, served, chat, next_seed());
    } catch (const ApiError& e) {
      return send_error(res, e.status(), e.what(), e.type(), e.param());
    }
    if (stopping) return send_error(res, 503, "the server is shutting down", "server_error");
    if (in_flight.load() >= opt.max_concurrency + opt.queue_limit)
      return send_error(res, 503, "too many requests in flight; try again", "server_error");
    const auto q = EventQueue::create();
    const int n = r.request.params.n;
    const int n_prompt = static_cast<int>(r.request.prompt.size());
    const Clock::time_point t0 = Clock::now();
    uint64_t id;
    try {
      id = engine->submit(r.request, q->callback());
    } catch (const Error& e) {
      return send_error(res, 400, e.what(), "invalid_request_error");
    }
    ++in_flight;
    const std::string rid = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(id);
    const int64_t created = unix_now();
    if (!r.stream) {
      std::vector<Choice> choices(static_cast<size_t>(n));
      int done = 0, idle_polls = 0;
      Clock::time_point last{};
      while (done < n) {
        const auto e = q->pop(std::chrono::milliseconds(200));
        if (!e) {
          // The engine ends every sample it has; a request that raced a shutdown may not reach it.
          if (stopping && ++idle_polls > 25) {
            --in_flight;
            return send_error(res, 503, "the server is shutting down", "server_error");
          }
          continue;
        }
        Choice& c = choices[static_cast<size_t>(e->sample)];
        c.text += e->text;
        if (e->finished) {
          c.finished = true;
          c.reason = e->reason;
          ++done;
          continue;
        }
        observe_token(t0, last);
        TokenEvent t = *e;
        t.text.clear();
        c.tokens.push_back(std::move(t));
      }
      --in_flight;
      int generated = 0;
      for (const Choice& c : choices) {
        generated += static_cast<int>(c.tokens.size());
        if (c.reason == FinishReason::Error)
          return send_error(res, 500, "the request failed in the engine", "server_error");
        if (c.reason == FinishReason::Cancelled)
          return send_error(res, 503, "the request was cancelled (server shutting down)",
                            "server_error");
      }
      metrics.tokens(n_prompt, generated);
      return send(res, 200, response_json(r, served, rid, created, choices, n_prompt));
    }
    // Streaming: one SSE event per token and one per finished sample, then usage and [DONE].
    struct Stream {
      std::shared_ptr<EventQueue> q;
      ApiRequest r;
      uint64_t id;
      int n, n_prompt, done = 0, generated = 0, idle_polls = 0;
      std::set<int> started;
      Clock::time_point t0, last{};
      bool complete = false;
    };
    auto st = std::make_shared<Stream>(Stream{q, std::move(r), id, n, n_prompt, 0, 0, 0, {}, t0});
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, st, rid, created](size_t, httplib::DataSink& sink) {
          const auto e = st->q->pop(std::chrono::milliseconds(50));
          if (!e) {
            // No token yet (a prompt being prefilled, or a queue): is anyone still listening?
            if (!sink.is_writable() || (stopping && ++st->idle_polls > 100)) {
              engine->cancel(st->id);
              return false;
            }
            return true;
          }
          const bool first = st->started.insert(e->sample).second;
          if (!e->finished) {
            observe_token(st->t0, st->last);
            ++st->generated;
          }
          std::string out =
              "data: " + dump(chunk_json(st->r, served, rid, created, *e, first)) + "\n\n";
          if (e->finished && ++st->done == st->n) {
            if (st->r.include_usage) {
              json u = chunk_json(st->r, served, rid, created, *e, false);
              u["choices"] = json::array();
              u["usage"] = usage_json(st->n_prompt, st->generated);
              out += "data: " + dump(u) + "\n\n";
            }
            out += "data: [DONE]\n\n";
            st->complete = true;
          }
          if (!sink.write(out.data(), out.size())) {  // the client went away
            engine->cancel(st->id);
            return false;
          }
          if (st->complete) {
            metrics.tokens(st->n_prompt, st->generated);
            sink.done();
          }
          return true;
        },
        [this, st](bool) {
          if (!st->complete) engine->cancel(st->id);
          --in_flight;
        });
  }

  void routes() {
    http.set_payload_max_length(opt.max_body_bytes);
    http.new_task_queue = [n = opt.max_concurrency + opt.queue_limit + 8] {
      return new httplib::ThreadPool(static_cast<size_t>(n));
    };
    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      lower_this_threads_priority();
      t_request_start = Clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      // Known endpoints only: a label per random path would let clients grow the map forever.
      static const std::set<std::string> known = {"/v1/chat/completions",
                                                  "/v1/completions",
                                                  "/v1/models",
                                                  "/health",
                                                  "/metrics",
                                                  "/tokenize",
                                                  "/detokenize",
                                                  "/"};
      metrics.request(known.count(req.path) ? req.path : "other", res.status);
      if (!opt.access_log) return;
      const json line = {
          {"ts", unix_now()},           {"remote", req.remote_addr},
          {"method", req.method},       {"path", req.path},
          {"status", res.status},       {"ms", seconds(Clock::now() - t_request_start) * 1e3},
          {"bytes_in", req.body.size()}};
      std::fprintf(stderr, "%s\n", dump(line).c_str());
    });
    http.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      switch (res.status) {
        case 404:
          return send_error(res, 404, "no such endpoint", "not_found_error");
        case 413:
          return send_error(
              res, 413, "the body is larger than " + std::to_string(opt.max_body_bytes) + " bytes",
              "invalid_request_error");
        default:
          return send_error(res, res.status,
                            std::string("HTTP error ") + std::to_string(res.status),
                            res.status >= 500 ? "server_error" : "invalid_request_error");
      }
    });
    http.set_exception_handler(
        [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "internal error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          send_error(res, 500, what, "server_error");
        });
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& q, httplib::Response& s) { completions(q, s, true); });
    http.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& s) {
      completions(q, s, false);
    });
    for (const char* p : {"/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"})
      http.Get(p, [this](const httplib::Request&, httplib::Response& s) {
        send_error(s, 405, "use POST", "invalid_request_error");
      });
    http.Get("/v1/models", [this](const httplib::Request& q, httplib::Response& s) {
      if (!authorized(q, s)) return;
      send(s, 200,
           {{"object", "list"},
            {"data", json::array({{{"id", served.name},
                                   {"object", "model"},
                                   {"created", unix_now()},
                                   {"owned_by", "llmcpp"},
                                   {"context_length", served.context}}})}});
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& s) {
      send(s, 200, {{"status", stopping ? "stopping" : "ok"}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& s) {
      s.set_content(metrics.render(engine->stats(), in_flight.load()),
                    "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Post("/tokenize", [this](const httplib::Request& q, httplib::Response& s) {
      const auto b = parse_body(q, s);
      if (!b) return;
      if (!b->is_object() || !b->contains("content") || !(*b)["content"].is_string())
        return send_error(s, 400, "content: must be a string", "invalid_request_error", "content");
      const bool special = b->value("add_special", false);
      const auto ids = lm.tokenizer->encode((*b)["content"].get<std::string>(),
                                            {.add_bos = special, .parse_special = special});
      send(s, 200, {{"tokens", ids}});
    });
    http.Post("/detokenize", [this](const httplib::Request& q, httplib::Response& s) {
      const auto b = parse_body(q, s);
      if (!b) return;
      std::vector<int32_t> ids;
      const int vocab = lm.model->config.vocab_size;
      if (!b->is_object() || !b->contains("tokens") || !(*b)["tokens"].is_array())
        return send_error(s, 400, "tokens: must be an array of token ids", "invalid_request_error",
                          "tokens");
      for (const json& t : (*b)["tokens"]) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= vocab)
          return send_error(s, 400,
                            "tokens: each must be a token id in 0.." + std::to_string(vocab - 1),
                            "invalid_request_error", "tokens");
        ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
      }
      send(s, 200, {{"content", lm.tokenizer->decode(ids)}});
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& s) {
      s.set_content(chat_page_html(), "text/html; charset=utf-8");
    });
  }
};

PagedKvOptions server_kv_options(const ServerOptions& opt) {
  PagedKvOptions kv;
  kv.max_seqs = 2 * opt.max_concurrency + 16;  // n > 1 samples take a slot each
  set_kv_type(kv, opt.kv_type);
  kv.memory_bytes = static_cast<size_t>(opt.kv_memory_mib) << 20;  // 0: the default budget
  return kv;
}

Server::Server(const LoadedModel& model, ServerOptions options, parallel::ShardedModel* sharded)
    : impl_(std::make_unique<Impl>(model, std::move(options), sharded)) {}

Server::~Server() {
  stop();
}

int Server::bind() {
  Impl& m = *impl_;
  m.port = m.opt.port == 0 ? m.http.bind_to_any_port(m.opt.host)
                           : (m.http.bind_to_port(m.opt.host, m.opt.port) ? m.opt.port : -1);
  if (m.port <= 0)
    throw Error("cannot listen on " + m.opt.host + ":" + std::to_string(m.opt.port) +
                " (in use, or not an address of this machine)");
  return m.port;
}

void Server::run() {
  impl_->engine->start();
  impl_->http.listen_after_bind();
  impl_->engine->stop();  // what is still open ends as cancelled
}

void Server::stop() {
  impl_->stopping = true;
  impl_->engine->stop();  // streams see their final events and finish
  impl_->http.stop();
}

int Server::port() const {
  return impl_->port;
}

const std::string& Server::model_name() const {
  return impl_->served.name;
}

}  // namespace llm::server
