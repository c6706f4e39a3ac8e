#include "llm/parallel/thread_communicator.h"

#include <algorithm>
#include <thread>

#include "llm/config/error.h"

namespace llm::parallel {

ThreadGroup::ThreadGroup(int world) : world_(world), published_(static_cast<size_t>(world)) {
  if (world < 1) throw Error("a thread group needs at least one rank");
}

void ThreadGroup::check() const {
  if (!aborted()) return;
  std::lock_guard lock(why_mutex_);
  throw Error("tensor parallel group aborted: " + why_);
}

// A sense-reversing barrier: the last rank to arrive resets the count and advances the phase;
// the others spin briefly (ranks usually arrive within microseconds of each other), then sleep
// on the phase (C++20 atomic wait), so a rank descheduled on a busy machine costs no CPU.
void ThreadGroup::barrier() {
  check();
  const uint32_t phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == world_) {
    arrived_.store(0, std::memory_order_relaxed);
    phase_.fetch_add(1, std::memory_order_acq_rel);
    phase_.notify_all();
    return;
  }
  for (int spin = 0;; ++spin) {
    check();
    if (phase_.load(std::memory_order_acquire) != phase) return;
    if (spin < 64)
      std::this_thread::yield();
    else
      phase_.wait(phase, std::memory_order_acquire);
  }
}

void ThreadGroup::abort(const std::string& why) {
  {
    std::lock_guard lock(why_mutex_);
    if (aborted()) return;
    why_ = why;
  }
  aborted_.store(true, std::memory_order_release);
  phase_.fetch_add(1, std::memory_order_acq_rel);  // wakes every waiter, which then throws
  phase_.notify_all();
}

ThreadCommunicator::ThreadCommunicator(std::shared_ptr<ThreadGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {
  if (rank < 0 || rank >= group_->world()) throw Error("rank outside the thread group");
}

std::vector<std::unique_ptr<ThreadCommunicator>> ThreadCommunicator::create(int world) {
  auto group = std::make_shared<ThreadGroup>(world);
  std::vector<std::unique_ptr<ThreadCommunicator>> out;
  for (int r = 0; r < world; ++r) out.push_back(std::make_unique<ThreadCommunicator>(group, r));
  return out;
}

void ThreadCommunicator::all_reduce_sum(float* data, size_t n) {
  ThreadGroup& g = *group_;
  const auto world = static_cast<size_t>(g.world());
  if (world == 1) return;
  g.published_[static_cast<size_t>(rank_)] = data;
  if (rank_ == 0) g.sums_.resize(n);  // nobody touches sums_ between the last call's end and here
  g.barrier();
  // Reduce-scatter: this rank sums its slice over all ranks, always in rank order.
  const size_t lo = n * static_cast<size_t>(rank_) / world;
  const size_t hi = n * static_cast<size_t>(rank_ + 1) / world;
  for (size_t i = lo; i < hi; ++i) {
    float s = static_cast<const float*>(g.published_[0])[i];
    for (size_t r = 1; r < world; ++r) s += static_cast<const float*>(g.published_[r])[i];
    g.sums_[i] = s;
  }
  g.barrier();  // every slice summed; nobody reads the inputs any more
  std::copy(g.sums_.begin(), g.sums_.begin() + static_cast<std::ptrdiff_t>(n), data);  // all-gather
  g.barrier();  // sums_ may be reused
}

void ThreadCommunicator::all_gather(const float* local, std::span<const size_t> counts,
                                    float* out) {
  ThreadGroup& g = *group_;
  if (counts.size() != static_cast<size_t>(g.world()))
    throw Error("all_gather: one count per rank expected");
  g.published_[static_cast<size_t>(rank_)] = local;
  g.barrier();
  for (size_t r = 0; r < counts.size(); ++r) {
    const auto* from = static_cast<const float*>(g.published_[r]);
    out = std::copy(from, from + counts[r], out);
  }
  g.barrier();  // the others have read this rank's buffer
}

template <class T>
void ThreadCommunicator::broadcast_(T* data, size_t n, int root) {
  ThreadGroup& g = *group_;
  if (root < 0 || root >= g.world()) throw Error("broadcast: root outside the group");
  if (g.world() == 1) return;
  g.published_[static_cast<size_t>(rank_)] = data;
  g.barrier();
  if (rank_ != root) {
    const T* from = static_cast<const T*>(g.published_[static_cast<size_t>(root)]);
    std::copy(from, from + n, data);
  }
  g.barrier();
}

void ThreadCommunicator::broadcast(float* data, size_t n, int root) {
  broadcast_(data, n, root);
}
void ThreadCommunicator::broadcast(int32_t* data, size_t n, int root) {
  broadcast_(data, n, root);
}

}  // namespace llm::parallel
