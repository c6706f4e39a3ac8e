// Engine — many requests at once, each answered exactly as if it were alone.
//
// The engine owns the loop vLLM calls the "engine core": take new requests and cancellations,
// let the scheduler plan a step (decodes and prefill chunks under a token budget), run the step
// as one forward pass — every weight read once for all its sequences —, sample each sequence
// with its own sampler, and stream the tokens out. It runs on its own thread (start) or, for
// tests and benchmarks, step by step on the caller's (step / run_until_idle).
//
// Batch invariance: a sequence's logits do not depend on what else is in the step or on how
// its prompt was chunked, because the kernels on this path reduce every row in a fixed order
// whatever the batch (chapter 8's matmuls and chunked attention; batch_invariant_kernels()
// avoids the one reference kernel that follows llama.cpp's batch-dependent rounding). So a
// seeded request gets the same tokens alone or under load.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "llm/batching/request.h"
#include "llm/batching/scheduler.h"
#include "llm/config/registry.h"
#include "llm/transformer/kernels.h"
#include "llm/transformer/transformer.h"

namespace llm {

struct EngineConfig {
  SchedulerConfig scheduler;
  int max_samples = 16;   // the largest n a request may ask for
  int max_logprobs = 20;  // the most alternatives a request may ask for
};

struct EngineStats {
  SchedulerStats scheduler;
  KvStats kv;
  uint64_t requests = 0, finished = 0;
  uint64_t prompt_tokens = 0;     // prompt tokens submitted
  uint64_t computed_tokens = 0;   // tokens fed to the model (prefill chunks, decodes, recompute)
  uint64_t generated_tokens = 0;  // tokens sampled
  double forward_seconds = 0, sampling_seconds = 0;
  // The cache over the steps run: mean internal fragmentation (unused slots of the blocks in
  // use, after each step) and the most blocks in use at once.
  double kv_fragmentation_mean = 0;
  int kv_blocks_peak = 0;
  uint64_t kv_samples = 0;
};

class Engine {
 public:
  // The transformer must run on `cache`; its max_batch bounds the step's token budget.
  Engine(Transformer& model, PagedKvCache& cache, const Tokenizer* tokenizer,
         EngineConfig config = {});
  ~Engine();  // stops the thread; requests still open end as Cancelled
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request; thread-safe. Throws llm::Error for a request that can never run (empty
  // prompt, prompt as long as the context, n or max_tokens out of range, a token id outside
  // the vocabulary). Returns its id; events go to on_event on the engine's thread.
  uint64_t submit(Request request, EventCallback on_event);
  // Ends a request at the next step boundary (its blocks are freed then); thread-safe, and a
  // no-op for a request that already ended.
  void cancel(uint64_t request);

  void start();  // runs the loop on a thread of its own
  void stop();   // ends the thread (open requests are cancelled)
  // One step on the calling thread (only when not started): false when there was nothing to do.
  bool step();
  void run_until_idle();

  EngineStats stats() const;  // thread-safe snapshot
  // The scheduler's sequences, for drawing them (kv-trace): only between steps of step().
  const Scheduler& scheduler() const { return scheduler_; }

 private:
  void drain_inbox();
  void finish(Sequence* s, FinishReason reason, const std::string& error = {});
  void sample(Sequence& s, std::span<const float> logits);
  void accept(Sequence& s, int32_t token, std::span<const float> logits);
  void log_probs(std::span<const float> logits, int32_t token, int top, TokenEvent& ev);
  void spawn_samples(Sequence& parent, std::span<const float> logits);
  void loop();
  void snapshot_locked();  // the scheduler's and the cache's state into stats_ (mu_ held)

  Transformer& model_;
  PagedKvCache& cache_;
  const Tokenizer* tokenizer_;
  EngineConfig config_;
  Scheduler scheduler_;
  Batch batch_;
  std::vector<int32_t> order_;                      // top-logprob selection
  std::unordered_map<uint64_t, int> open_samples_;  // request -> samples not finished yet

  mutable std::mutex mu_;  // guards the inbox, the cancellations and stats_
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Sequence>> inbox_;
  std::vector<uint64_t> cancels_;
  uint64_t next_id_ = 1, next_arrival_ = 0;
  bool stopping_ = false;
  std::atomic<bool> busy_{false};  // the scheduler has work (engine thread's view)
  EngineStats stats_;
  std::thread thread_;
};

// The best kernels for serving: chapter 8's where the CPU has them, and "tiled" attention in
// place of the reference (whose rounding depends on the batch) — also as the fallback.
Kernels batch_invariant_kernels(const Registry& r);

}  // namespace llm
