// ThreadCommunicator — ranks that are threads of one process: the teaching version of the
// collectives.
//
// The ranks share memory, so a collective needs no messages: each rank publishes a pointer to
// its buffer, everyone meets at a barrier, and then reads what it needs straight from the
// others' buffers. An all-reduce splits the vector into one slice per rank; each rank sums its
// slice over all ranks (in rank order, so every run adds in the same order) into a shared
// buffer, and after a second barrier every rank copies the sums back. That is the
// reduce-scatter + all-gather shape that NCCL's ring all-reduce has too, minus the network.
//
// A rank that fails calls abort(): every rank waiting in (or later entering) a collective then
// throws llm::Error instead of waiting forever for a rank that will never arrive.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llm/transformer/communicator.h"

namespace llm::parallel {

// What the ranks of one group share: the barrier, the published pointers, the sum buffer.
class ThreadGroup {
 public:
  explicit ThreadGroup(int world);
  int world() const { return world_; }
  // Waits until all `world` ranks have arrived; throws llm::Error once the group is aborted.
  void barrier();
  void abort(const std::string& why);
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }

 private:
  friend class ThreadCommunicator;
  void check() const;
  int world_;
  std::atomic<int> arrived_{0};
  std::atomic<uint32_t> phase_{0};
  std::atomic<bool> aborted_{false};
  mutable std::mutex why_mutex_;
  std::string why_;
  std::vector<const void*> published_;  // one pointer per rank
  std::vector<float> sums_;             // the all-reduce's slices
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadGroup> group, int rank);
  // `world` communicators sharing one new group, rank i at index i.
  static std::vector<std::unique_ptr<ThreadCommunicator>> create(int world);

  int rank() const override { return rank_; }
  int size() const override { return group_->world(); }
  void all_reduce_sum(float* data, size_t n) override;
  void all_gather(const float* local, std::span<const size_t> counts, float* out) override;
  void broadcast(float* data, size_t n, int root) override;
  void broadcast(int32_t* data, size_t n, int root) override;
  void barrier() override { group_->barrier(); }
  // Marks the whole group failed (see above).
  void abort(const std::string& why) { group_->abort(why); }

 private:
  template <class T>
  void broadcast_(T* data, size_t n, int root);
  std::shared_ptr<ThreadGroup> group_;
  int rank_;
};

}  // namespace llm::parallel
