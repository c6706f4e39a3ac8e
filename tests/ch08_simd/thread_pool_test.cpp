// The thread pool: every thread runs each job once, barriers separate phases, ranges split.
#include <gtest/gtest.h>

#include <atomic>
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

TEST(ThreadPool, RejectsNonsenseSizes) {
  EXPECT_THROW(ThreadPool pool(0), Error);
  EXPECT_GE(ThreadPool::physical_cores(), 1);
  EXPECT_FALSE(cpu_features().summary().empty());
}
