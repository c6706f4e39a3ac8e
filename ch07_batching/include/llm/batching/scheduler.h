// Scheduler — iteration-level (continuous) batching over a paged KV cache, with no tensors in it.
//
// Every step is one ragged batch: each running sequence contributes the tokens it has not fed
// yet — one for a sequence that is decoding, a chunk of its prompt for one that is prefilling
// (chunked prefill) — under a token budget. The order is first come, first served:
//   1. running sequences, oldest first, get their next token or chunk; when the cache cannot
//      hold it, the newest running sequence is preempted — its blocks freed, it goes back to
//      the head of the queue and later recomputes what it had (prefix caching often makes that
//      cheap) — until it fits;
//   2. waiting requests are admitted in arrival order while the budget, the sequence slots and
//      the blocks allow; the first that does not fit stops admission (so a long request is not
//      overtaken forever: no one starves).
// The engine runs the batch and then tells the scheduler what each sequence did.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "llm/batching/request.h"
#include "llm/kvcache/paged_kv_cache.h"
#include "llm/transformer/generator.h"

namespace llm {

struct SchedulerConfig {
  int max_batch_tokens = 512;  // tokens per step (decodes + prefill chunks)
  int max_running = 64;        // sequences in flight (also bounded by the cache's max_seqs)
};

// One sample of a request: the scheduling state plus its own sampler and text stream.
struct Sequence {
  uint64_t request = 0;
  int sample = 0;
  uint64_t arrival = 0;         // FCFS order (samples of one request share it)
  std::vector<int32_t> tokens;  // prompt, then generated ids
  int n_prompt = 0;
  int computed = 0;  // leading tokens whose keys and values are in the cache
  int slot = -1;     // the cache's sequence id while resident, else -1
  int n_cached = 0;  // prompt tokens the prefix cache gave at first admission
  int preemptions = 0;
  bool admitted_once = false;
  bool spawned = false;  // sample 0 of n > 1: the other samples exist
  std::shared_ptr<const RequestParams> params;
  std::shared_ptr<EventCallback> on_event;
  Sampler sampler;
  TextStream text;
  Sequence(const RequestParams& p, uint64_t seed, const Tokenizer* tok)
      : sampler([&] {
          SamplerConfig c = p.sampler;
          c.seed = seed;
          return c;
        }()),
        text(tok, p.stop_strings) {}
  int remaining() const { return static_cast<int>(tokens.size()) - computed; }
  int n_generated() const { return static_cast<int>(tokens.size()) - n_prompt; }
};

struct ScheduledChunk {
  Sequence* seq;
  int begin;  // first position fed this step
  int count;  // tokens fed; logits are wanted when begin + count == tokens.size()
};

struct SchedulerStats {
  int running = 0, waiting = 0;
  uint64_t steps = 0, preemptions = 0, admitted = 0;
};

class Scheduler {
 public:
  Scheduler(PagedKvCache& cache, SchedulerConfig config);

  void add(std::unique_ptr<Sequence> seq);  // to the waiting queue, in arrival order
  // Plans the next step; empty when nothing can run.
  const std::vector<ScheduledChunk>& schedule();
  // A running sequence leaves (finished, cancelled, failed): its blocks and slot are freed.
  std::unique_ptr<Sequence> remove(Sequence* seq);
  // A request's sequences, running or waiting.
  std::vector<Sequence*> sequences_of(uint64_t request) const;
  // Sequences that cannot fit even in an empty cache (longer than the whole pool): the
  // engine ends them. They stay in the scheduler until remove()d.
  std::vector<Sequence*> take_unfittable();
  // Gives a child sample a slot sharing the parent's blocks (n > 1); false when no slot is
  // free (the child then waits and computes its own prompt).
  bool fork_into(Sequence& parent, Sequence& child);
  void add_running(std::unique_ptr<Sequence> seq);  // a forked child, already resident

  std::vector<Sequence*> running() const;
  std::vector<Sequence*> all() const;  // running, then waiting
  bool idle() const { return running_.empty() && waiting_.empty(); }
  SchedulerStats stats() const;
  const PagedKvCache& cache() const { return cache_; }
  int free_slots() const { return static_cast<int>(free_slots_.size()); }

 private:
  void preempt(size_t running_index);
  int take_slot();
  void give_slot(int slot);
  // Tokens of `s` that fit in the cache now (up to `want`), counting the blocks it needs.
  int fit(const Sequence& s, int want) const;
  bool fits_alone(const Sequence& s) const;

  PagedKvCache& cache_;
  SchedulerConfig config_;
  std::vector<std::unique_ptr<Sequence>> running_;  // oldest arrival first
  std::vector<std::unique_ptr<Sequence>> waiting_;  // oldest arrival first
  std::vector<int> free_slots_;
  std::vector<ScheduledChunk> plan_;
  std::vector<Sequence*> unfittable_;
  int promised_ = 0;  // blocks the plan being built will take
  SchedulerStats stats_;
};

}  // namespace llm
