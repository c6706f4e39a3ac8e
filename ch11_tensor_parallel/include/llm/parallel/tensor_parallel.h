// Running a sharded model: one rank's state, ranks as threads, and a communicator that times
// its collectives.
//
// Every rank builds a Rank from the full model: its shard (shard.h), its own backend with its
// share of the threads, its own paged KV cache (its KV heads only, with the same block count on
// every rank so the block tables can mirror each other), and a Transformer over them. Rank 0 is
// the leader: the caller drives its Transformer exactly as an unsharded one — generate(), the
// engine, the server — and each forward() broadcasts the batch to the others, which run
// Transformer::follow().
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "llm/kvcache/paged_kv_cache.h"
#include "llm/parallel/mpi_communicator.h"
#include "llm/parallel/shard.h"
#include "llm/parallel/thread_communicator.h"
#include "llm/transformer/transformer.h"

namespace llm::parallel {

// Counts what crosses between ranks, and the time spent in collectives (waiting for the slowest
// rank included: that is what a rank loses to them).
struct CommStats {
  uint64_t all_reduces = 0, all_gathers = 0, broadcasts = 0;
  uint64_t all_reduce_bytes = 0, all_gather_bytes = 0, broadcast_bytes = 0;
  double seconds = 0;
};

class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void all_reduce_sum(float* data, size_t n) override;
  void all_gather(const float* local, std::span<const size_t> counts, float* out) override;
  void broadcast(float* data, size_t n, int root) override;
  void broadcast(int32_t* data, size_t n, int root) override;
  void barrier() override { inner_.barrier(); }
  const CommStats& stats() const { return stats_; }
  void reset() { stats_ = {}; }

 private:
  Communicator& inner_;
  CommStats stats_;
};

struct RankOptions {
  int threads = 1;                                      // this rank's kernel threads
  std::map<std::string, std::string> kernel_overrides;  // as Kernels::select takes them
  std::function<Kernels()> kernels;  // or the kernels themselves (the server's batch-invariant)
  PagedKvOptions kv;  // sized for the whole model: every rank gets the same block count
  int max_batch = 512;
};

// One rank of a sharded model. `full` must outlive it.
class Rank {
 public:
  Rank(const Model& full, Communicator& comm, const RankOptions& options);
  Transformer& transformer() { return transformer_; }
  PagedKvCache& cache() { return cache_; }
  const Model& shard() const { return shard_; }
  size_t weight_bytes() const { return shard_bytes(shard_); }
  size_t kv_bytes() const { return cache_.bytes(); }

 private:
  Model shard_;
  CpuBackend backend_;
  PagedKvCache cache_;
  Transformer transformer_;
};

// Ranks as threads of this process. The constructor returns once every rank is built; rank 0
// is then the caller's to drive. The destructor releases the followers and joins them.
class ThreadTensorParallel {
 public:
  ThreadTensorParallel(const Model& full, int world, const RankOptions& options);
  ~ThreadTensorParallel();
  ThreadTensorParallel(const ThreadTensorParallel&) = delete;
  ThreadTensorParallel& operator=(const ThreadTensorParallel&) = delete;

  int world() const { return static_cast<int>(comms_.size()); }
  Transformer& leader() { return leader_->transformer(); }
  PagedKvCache& leader_cache() { return leader_->cache(); }
  // Rank 0's view of the collectives.
  const CommStats& comm_stats() const { return timed_->stats(); }
  void reset_comm_stats() { timed_->reset(); }
  // Every rank's weight and KV-cache bytes (rank order).
  std::vector<std::pair<size_t, size_t>> bytes_per_rank() const { return bytes_; }

 private:
  std::vector<std::unique_ptr<ThreadCommunicator>> comms_;
  std::unique_ptr<TimedCommunicator> timed_;
  std::unique_ptr<Rank> leader_;
  std::vector<std::thread> followers_;
  std::vector<std::pair<size_t, size_t>> bytes_;
};

// What a command needs, whichever way the ranks run: rank 0's model and cache.
//   "threads": `world` ranks as threads of this process (this process is the leader); they
//              share options.threads (each rank gets options.threads / world, at least 1);
//   "mpi":     this process is one rank of an `mpirun -np N` job (world 0 = the job's size,
//              otherwise it must equal it), with options.threads of its own; rank 0 leads, the
//              others call follow().
class ShardedModel {
 public:
  ShardedModel(const Model& full, int world, const std::string& backend,
               const RankOptions& options);
  ~ShardedModel();  // the leader releases the followers
  ShardedModel(const ShardedModel&) = delete;
  ShardedModel& operator=(const ShardedModel&) = delete;

  bool leader() const { return is_leader_; }
  int world() const { return world_; }
  // On a follower: runs the leader's batches until the leader is done.
  void follow();
  Transformer& transformer();
  PagedKvCache& cache();
  const CommStats& comm_stats() const { return timed_ ? timed_->stats() : threads_->comm_stats(); }
  void reset_comm_stats();
  // Every rank's weight and KV-cache bytes, in rank order (known on the leader).
  std::vector<std::pair<size_t, size_t>> bytes_per_rank() const { return bytes_; }

 private:
  std::unique_ptr<ThreadTensorParallel> threads_;
  std::unique_ptr<MpiCommunicator> mpi_;
  std::unique_ptr<TimedCommunicator> timed_;
  std::unique_ptr<Rank> rank_;
  std::vector<std::pair<size_t, size_t>> bytes_;
  int world_ = 1;
  bool is_leader_ = true;
};

}  // namespace llm::parallel
