// The thread pool: every thread runs each job once, barriers separate phases, ranges split.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "llm/config/error.h"
#include "llm/config/thread_pool.h"
#include "llm/simd/cpu_features.h"

using namespace llm;

TEST(ThreadPool, RunsEveryThreadOncePerJob) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    for (int job = 0; job < 1000; ++job)
      pool.run([&](int t, int nt) {
        EXPECT_EQ(nt, n);
        hits[static_cast<size_t>(t)].fetch_add(1);
      });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1000);
    EXPECT_EQ(pool.dispatches(), 1000u);
  }
}

TEST(ThreadPool, BarrierSeparatesPhases) {
  ThreadPool pool(3);
  std::vector<int> data(3 * 100, 0);
  std::atomic<int> bad{0};
  for (int round = 0; round < 200; ++round)
    pool.run([&](int t, int nt) {
      for (int i = 0; i < 100; ++i) data[static_cast<size_t>(t * 100 + i)] = round;
      pool.barrier();
      // After the barrier every thread sees every other thread's writes of this round.
      for (int o = 0; o < nt; ++o)
        if (data[static_cast<size_t>(o * 100 + 99)] != round) bad.fetch_add(1);
      pool.barrier();
    });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(pool.barriers(), 400u);
}

TEST(ThreadPool, SplitRangeCoversEverythingOnce) {
  for (int64_t n : {0, 1, 7, 100, 101})
    for (int parts : {1, 2, 3, 8})
      for (int64_t align : {1, 16}) {
        int64_t next = 0;
        for (int i = 0; i < parts; ++i) {
          const Range r = split_range(n, parts, i, align);
          EXPECT_EQ(r.begin, next);
          EXPECT_LE(r.begin, r.end);
          if (r.begin < n && i > 0) {
            EXPECT_EQ(r.begin % align, 0);
          }
          next = r.end;
        }
        EXPECT_EQ(next, n);
      }
}

// An idle pool sleeps: a server waiting for requests must not burn its cores spinning.
TEST(ThreadPool, IdleWorkersSleep) {
  ThreadPool pool(3);
  pool.run([](int, int) {});
  const auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spinning phase
  const double before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = cpu_seconds() - before;
  EXPECT_LT(used, 0.05) << "two idle workers used " << used << " s of CPU in 0.3 s";
  // And they wake up for the next job.
  std::atomic<int> ran{0};
  pool.run([&](int, int) { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 3);
}

TEST(ThreadPool, RejectsNonsenseSizes) {
  EXPECT_THROW(ThreadPool pool(0), Error);
  EXPECT_GE(ThreadPool::physical_cores(), 1);
  EXPECT_FALSE(cpu_features().summary().empty());
}
