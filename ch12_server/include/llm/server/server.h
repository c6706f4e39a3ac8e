// Server — chapter 7's engine behind an OpenAI-compatible HTTP API (cpp-httplib).
//
//   POST /v1/chat/completions, /v1/completions   (streamed as Server-Sent Events or not)
//   GET  /v1/models, /health, /metrics (Prometheus text), /   (the chat page)
//   POST /tokenize, /detokenize
//
// Every request becomes one engine request (n samples sharing the prompt's KV blocks); a
// streaming client that goes away cancels its request — also while its prompt is being
// prefilled — and its blocks are freed at the next step. Bad input is an OpenAI error object
// with the right status; nothing a client sends stops the server. CPU code and httplib stay
// behind this header (pimpl).
#pragma once

#include <memory>
#include <string>

#include "llm/kvcache/paged_kv_cache.h"
#include "llm/loading/load_model.h"

namespace llm::parallel {
class ShardedModel;
}  // namespace llm::parallel

namespace llm::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port (see port())
  int threads = 0;                // compute threads; 0 = the physical cores
  int max_concurrency = 16;       // sequences decoded together
  int queue_limit = 64;           // requests waiting beyond those; more get 503
  int kv_memory_mib = 0;          // 0: default_kv_memory_bytes()
  std::string kv_type = "f16";    // f16, f32, q8_0
  std::string api_key;            // non-empty: /v1/* need "Authorization: Bearer KEY"
  std::string served_model_name;  // default: the file's name without .gguf
  size_t max_body_bytes = 8 << 20;
  bool access_log = true;      // one line per request on stderr
  std::string device = "cpu";  // or "cuda": chapter 9's backend (batch-invariant kernels)
};

// The KV cache a server with these options builds (its sequences, element type and budget):
// also what each rank of a sharded model gets (chapter 11).
PagedKvOptions server_kv_options(const ServerOptions& options);

class Server {
 public:
  // With `sharded` (chapter 11), the engine drives rank 0 of that tensor-parallel model (built
  // with server_kv_options and batch-invariant kernels) instead of a model of its own; it must
  // outlive the server.
  Server(const LoadedModel& model, ServerOptions options,
         parallel::ShardedModel* sharded = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (throws llm::Error when it cannot); returns the port.
  int bind();
  // Serves until stop(); returns when the listener has closed and open streams have ended.
  void run();
  // Thread-safe: stops accepting, cancels what is in flight.
  void stop();
  int port() const;
  const std::string& model_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llm::server
