// llm serve — the OpenAI-compatible HTTP server with the chat page (chapter 12).
//
//   llm serve -m FILE [--host 127.0.0.1] [--port 8080] [options: the table at the end]
//
// SIGINT or SIGTERM stop it gracefully: the listener closes, open requests end as cancelled,
// exit 0. The signals are taken by a thread of their own (sigwait), not by a handler.
#include <csignal>
#include <cstdio>
#include <thread>

#include "args.h"
#include "llm/batching/engine.h"
#include "llm/config/thread_pool.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/parallel/tensor_parallel.h"
#include "llm/server/server.h"

namespace llm::cli {
namespace {

// The server's model sharded over `tp` ranks: its cache options and batch-invariant kernels on
// every rank, the compute threads divided between the ranks when they are threads.
std::unique_ptr<parallel::ShardedModel> sharded_server_model(const LoadedModel& lm,
                                                             const server::ServerOptions& o, int tp,
                                                             const std::string& backend) {
  parallel::RankOptions ro;
  // shared by thread ranks; each MPI process's own
  ro.threads = o.threads > 0 ? o.threads : ThreadPool::physical_cores();
  ro.kernels = [] {
    Registry reg;
    register_loading(reg);
    return batch_invariant_kernels(reg);
  };
  ro.kv = server::server_kv_options(o);
  return std::make_unique<parallel::ShardedModel>(*lm.model, tp, backend, ro);
}

int run_serve(Args& args) {
  server::ServerOptions o;
  const std::string path = args.required("--model");
  o.host = args.get("--host");
  o.port = args.get_int("--port");
  o.threads = args.get_threads();
  o.max_concurrency = args.get_int("--max-concurrency");
  o.queue_limit = args.get_int("--queue-limit");
  o.kv_memory_mib = args.opt_int("--kv-memory").value_or(0);  // 0: the default budget
  o.kv_type = args.get("--kv-type");
  o.api_key = args.value("--api-key").value_or("");
  o.served_model_name = args.value("--served-model-name").value_or("");
  o.access_log = !args.has("--no-access-log");
  const std::optional<int> tp_given = args.opt_int("--tp");
  const std::string tp_backend = args.get("--tp-backend");
  o.device = args.get("--device");
  args.finish();
  const int tp = tp_given.value_or(1);
  check_tp_options(tp, tp_backend, o.device);
  if (o.port < 0 || o.port > 65535) throw Error("--port must be in 0..65535");
  if (o.max_concurrency < 1 || o.max_concurrency > 1024)
    throw Error("--max-concurrency must be in 1..1024");
  if (o.kv_memory_mib < 0) throw Error("--kv-memory must not be negative");
  if (o.queue_limit < 0) throw Error("--queue-limit must not be negative");

  const LoadedModel lm = load_model(path);
  // Chapter 11: rank 0 of a sharded model serves; under mpirun the other processes follow it
  // (and end with mpirun's signal, which is why they keep the default signal handling).
  std::unique_ptr<parallel::ShardedModel> shards;
  const bool mpi = tp_backend == "mpi";
  if (mpi) {
    shards = sharded_server_model(lm, o, tp_given.value_or(0), tp_backend);
    if (!shards->leader()) {
      shards->follow();
      return 0;
    }
  }

  // Block the stop signals in every thread (they inherit the mask), and wait for them on one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a death

  if (!mpi && tp > 1) shards = sharded_server_model(lm, o, tp, tp_backend);
  if (shards) print_tp_report(*shards, lm.model->config, 0, 0);
  server::Server srv(lm, o, shards.get());
  const int port = srv.bind();
  std::fprintf(stderr, "serve: %s as '%s' on http://%s:%d/ (chat page at /, API at /v1)\n",
               path.c_str(), srv.model_name().c_str(), o.host.c_str(), port);
  std::printf("http://%s:%d/\n", o.host.c_str(), port);
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0) {
      std::fprintf(stderr, "serve: signal %d, stopping\n", sig);
      srv.stop();
    }
  });
  srv.run();
  // run() also returns when stop() came from elsewhere: wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    {"--host", "HOST", "address to listen on", "127.0.0.1"},
    {"--port", "PORT", "port to listen on; 0 = any free one, printed", "8080"},
    kThreadsOption,
    kDeviceOption,
    kTpOption,
    kTpBackendOption,
    // -np: llama-server's name for the requests decoded together.
    {"-np|--max-concurrency|--parallel", "N", "requests decoded together (1..1024)", "16"},
    {"--queue-limit", "N", "requests waiting beyond those; more get 503", "64"},
    {"--kv-memory", "MiB", "KV cache memory", "room for 16 x 2048 tokens, 1 GiB at most"},
    kKvTypeOption,
    {"--api-key", "KEY", "require \"Authorization: Bearer KEY\" on /v1/*", ""},
    {"-a|--served-model-name|--alias", "NAME", "the model's name in the API", "the file's name"},
    {"--no-access-log", "", "no line per request on stderr", ""},
};

}  // namespace

extern const Command kServe{
    "serve", "the OpenAI-compatible HTTP server with a chat page (SIGINT/SIGTERM stop it)",
    "-m FILE [options]", kOptions, &run_serve};

}  // namespace llm::cli
