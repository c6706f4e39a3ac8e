#include "llm/config/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#include <sched.h>

#include "llm/config/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLM_CPU_RELAX() _mm_pause()
#else
#define LLM_CPU_RELAX() std::this_thread::yield()
#endif

namespace llm {
namespace {
// Spins a while (the common case: the other threads arrive within microseconds), then yields,
// so that a thread waiting for one that the OS has descheduled lets it run.
template <class Ready>
void spin_until(Ready ready) {
  for (int i = 0; !ready(); ++i) {
    if (i < 2000) {
      LLM_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_(n_threads) {
  if (n_threads < 1 || n_threads > 1024)
    throw Error("thread count must be between 1 and 1024, got " + std::to_string(n_threads));
  threads_.reserve(static_cast<size_t>(n_ - 1));
  for (int t = 1; t < n_; ++t) threads_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (std::thread& th : threads_) th.join();
}

void ThreadPool::worker(int t) {
  uint64_t seen = 0;
  for (;;) {
    // Between jobs: spin briefly (a decoded token dispatches every few microseconds), then
    // sleep in the kernel (futex) so an idle pool — a server waiting for requests — costs no CPU.
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen; ++i) {
      if (i < 4000) {
        LLM_CPU_RELAX();
        continue;
      }
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      generation_.wait(seen, std::memory_order_seq_cst);  // returns at once if it has changed
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    (*task_)(t, n_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(ThreadTask task) {
  ++dispatches_;
  if (n_ == 1) {
    task(0, 1);
    return;
  }
  task_ = &task;
  pending_.store(n_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes task_ and pending_
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
  task(0, n_);
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
  task_ = nullptr;
}

void ThreadPool::barrier() {
  if (n_ == 1) return;
  const uint64_t phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    barriers_.fetch_add(1, std::memory_order_relaxed);
    phase_.fetch_add(1, std::memory_order_acq_rel);
    return;
  }
  spin_until([&] { return phase_.load(std::memory_order_acquire) != phase; });
}

int ThreadPool::physical_cores() {
  cpu_set_t set;
  int allowed = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) allowed = CPU_COUNT(&set);
  // Cores, not hyper-threads: distinct (package, core id) pairs in /proc/cpuinfo.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, package = "0";
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = line.substr(colon + 1);
    if (key == "physical id") package = value;
    if (key == "core id") cores.insert({package, value});
  }
  int n = cores.empty() ? static_cast<int>(std::thread::hardware_concurrency())
                        : static_cast<int>(cores.size());
  if (allowed > 0 && allowed < n) n = allowed;
  return n > 0 ? n : 1;
}

Range split_range(int64_t n, int parts, int i, int64_t align) {
  const int64_t units = (n + align - 1) / align;
  const int64_t b = units * i / parts, e = units * (i + 1) / parts;
  return {std::min(n, b * align), std::min(n, e * align)};
}

std::byte* ScratchArena::reserve(size_t bytes) {
  if (bytes <= size_) return data_.get();
  const size_t rounded = (bytes + 63) / 64 * 64;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(64, rounded));
  if (!p) throw Error("out of memory reserving " + std::to_string(rounded) + " bytes of scratch");
  data_.reset(p);
  size_ = rounded;
  return p;
}

void ScratchArena::Free::operator()(std::byte* p) const {
  std::free(p);
}

}  // namespace llm
