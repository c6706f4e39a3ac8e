// ThreadPool and ExecContext — how a kernel is handed its threads and its scratch memory.
//
// Every kernel of the forward pass receives an ExecContext: the pool of threads it may split
// its work over (chapter 8's SIMD kernels do; the scalar references run on the calling thread)
// and scratch memory sized once by the backend, so no kernel allocates in the hot loop and no
// kernel keeps a global. Chapter 9 plugs its CUDA stream in beside the pool.
//
// The pool is persistent: its workers spin on an atomic generation counter between jobs, so a
// dispatch costs a cache-line handoff (well under a microsecond), not a thread wake-up. That
// matters for a 576-wide model, where one decoded token is ~150 short parallel steps. A worker
// idle for longer (~0.5 ms) sleeps in the kernel until the next job, so an idle pool costs no
// CPU. run() is called from one thread at a time (the model's); the caller is worker 0 and does
// its share.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace llm {

// A non-owning reference to any callable void(int thread, int n_threads): no allocation.
class ThreadTask {
 public:
  template <class F>
  ThreadTask(const F& f)  // NOLINT: implicit on purpose, so run([&](int, int) {...}) reads well
      : obj_(&f), call_([](const void* o, int t, int n) { (*static_cast<const F*>(o))(t, n); }) {}
  void operator()(int t, int n) const { call_(obj_, t, n); }

 private:
  const void* obj_;
  void (*call_)(const void*, int, int);
};

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1, the calling thread included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  // Runs task(t, size()) for t = 0..size()-1, t = 0 on the calling thread; returns when all
  // have finished.
  void run(ThreadTask task);
  // Inside a task: waits until every thread of the pool has reached this point.
  void barrier();

  // Synchronization counters since construction: dispatches (run calls) and barriers passed.
  uint64_t dispatches() const { return dispatches_; }
  uint64_t barriers() const { return barriers_.load(std::memory_order_relaxed); }

  // The number of physical cores (not hyper-threads) this process may use, at least 1.
  static int physical_cores();

 private:
  void worker(int t);
  int n_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};  // bumped once per run
  std::atomic<int> pending_{0};          // workers still busy with the current task
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};  // workers asleep in generation_.wait()
  const ThreadTask* task_ = nullptr;
  // barrier state: arrivals and a phase flipped by the last arrival
  std::atomic<int> arrived_{0};
  std::atomic<uint64_t> phase_{0};
  uint64_t dispatches_ = 0;
  std::atomic<uint64_t> barriers_{0};
};

// Rows [begin, end) of n split into `parts` near-equal contiguous ranges, part `i`, each range
// starting at a multiple of `align` (except that the last ends at n).
struct Range {
  int64_t begin, end;
};
Range split_range(int64_t n, int parts, int i, int64_t align = 1);

// What a kernel gets besides its operands.
struct ExecContext {
  ThreadPool* pool = nullptr;  // null: run on the calling thread only
  std::byte* scratch =
      nullptr;  // per-thread scratch: thread t owns [t*scratch_bytes, +scratch_bytes)
  size_t scratch_bytes = 0;
  std::byte* shared = nullptr;  // scratch all threads of one kernel share (shared_bytes)
  size_t shared_bytes = 0;

  int threads() const { return pool ? pool->size() : 1; }
  std::byte* thread_scratch(int t) const {
    return scratch + static_cast<size_t>(t) * scratch_bytes;
  }
  // Runs task on every thread of the pool, or once on the caller without one.
  void parallel(ThreadTask task) const {
    if (pool && pool->size() > 1) {
      pool->run(task);
    } else {
      task(0, 1);
    }
  }
  void barrier() const {
    if (pool && pool->size() > 1) pool->barrier();
  }
};

// 64-byte aligned scratch that only grows (the backend sizes it once per model and batch).
class ScratchArena {
 public:
  std::byte* reserve(size_t bytes);  // keeps the contents only when no growth is needed
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_ = 0;
};

}  // namespace llm
