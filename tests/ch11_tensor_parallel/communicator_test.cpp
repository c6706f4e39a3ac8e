// Chapter 11's communicators against the serial result: every collective, on random data, with
// sizes that do not divide by the ranks, for 1 to 4 ranks as threads; the abort path; NCCL on a
// GPU when there is one.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>

#include "llm/config/error.h"
#include "llm/parallel/nccl_communicator.h"
#include "llm/parallel/thread_communicator.h"
#include "llm/testing/testing.h"

using namespace llm;
using namespace llm::parallel;
namespace t = llm::testing;

namespace {

// Runs body(comm) on one thread per rank and waits for all.
template <class Comms, class Body>
void on_every_rank(Comms& comms, Body body) {
  std::vector<std::thread> threads;
  for (auto& c : comms) threads.emplace_back([&body, &c] { body(*c); });
  for (auto& th : threads) th.join();
}

class Collectives : public ::testing::TestWithParam<int> {};

TEST_P(Collectives, EqualTheSerialResultOnUnevenSizes) {
  const int world = GetParam();
  auto comms = ThreadCommunicator::create(world);
  for (const size_t n : {size_t{1}, size_t{7}, size_t{1000}, size_t{4099}}) {
    // Each rank's input, and the serial answers computed from them.
    std::vector<std::vector<float>> in;
    for (int r = 0; r < world; ++r) in.push_back(t::random_floats(n, 100 * n + r));
    std::vector<float> sum(n, 0.0f);
    for (size_t i = 0; i < n; ++i) {
      float s = in[0][i];
      for (int r = 1; r < world; ++r) s += in[static_cast<size_t>(r)][i];
      sum[i] = s;
    }
    std::vector<size_t> counts;  // rank r contributes n + r floats: uneven on purpose
    std::vector<float> gathered;
    for (int r = 0; r < world; ++r) {
      counts.push_back(n + static_cast<size_t>(r));
      const auto part = t::random_floats(n + static_cast<size_t>(r), 7 * n + r);
      gathered.insert(gathered.end(), part.begin(), part.end());
    }
    const int root = world - 1;
    std::vector<std::vector<float>> reduced(static_cast<size_t>(world)), got(reduced),
        bcast(reduced);
    std::vector<std::vector<int32_t>> ids(static_cast<size_t>(world));
    on_every_rank(comms, [&](ThreadCommunicator& c) {
      const auto r = static_cast<size_t>(c.rank());
      reduced[r] = in[r];
      c.all_reduce_sum(reduced[r].data(), n);
      size_t at = 0;
      for (size_t k = 0; k < r; ++k) at += counts[k];
      got[r].resize(gathered.size());
      c.all_gather(gathered.data() + at, counts, got[r].data());
      bcast[r] = static_cast<int>(r) == root ? in[r] : std::vector<float>(n, -1.0f);
      c.broadcast(bcast[r].data(), n, root);
      ids[r].assign(n, static_cast<int32_t>(r) == root ? 0 : -1);
      if (static_cast<int>(r) == root) std::iota(ids[r].begin(), ids[r].end(), 5);
      c.broadcast(ids[r].data(), n, root);
      c.barrier();
    });
    std::vector<int32_t> want_ids(n);
    std::iota(want_ids.begin(), want_ids.end(), 5);
    for (size_t r = 0; r < static_cast<size_t>(world); ++r) {
      EXPECT_EQ(reduced[r], sum) << "all-reduce, rank " << r << ", n " << n;
      EXPECT_EQ(got[r], gathered) << "all-gather, rank " << r << ", n " << n;
      EXPECT_EQ(bcast[r], in[static_cast<size_t>(root)]) << "broadcast, rank " << r;
      EXPECT_EQ(ids[r], want_ids) << "broadcast of ids, rank " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, Collectives, ::testing::Values(1, 2, 3, 4));

TEST(ThreadCommunicator, AnAbortedRankReleasesTheOthersWithAnError) {
  auto comms = ThreadCommunicator::create(3);
  std::vector<std::string> errors(3);
  on_every_rank(comms, [&](ThreadCommunicator& c) {
    try {
      if (c.rank() == 2) {
        c.abort("rank 2 failed to load its shard");
        return;
      }
      std::vector<float> x(16, 1.0f);
      c.all_reduce_sum(x.data(), x.size());  // rank 2 never comes
    } catch (const Error& e) {
      errors[static_cast<size_t>(c.rank())] = e.what();
    }
  });
  for (int r = 0; r < 2; ++r)
    EXPECT_NE(errors[static_cast<size_t>(r)].find("rank 2 failed to load its shard"),
              std::string::npos)
        << errors[static_cast<size_t>(r)];
}

TEST(NcclCommunicator, WorldOfOneOnTheGpu) {
  if (!NcclCommunicator::built()) GTEST_SKIP() << "built without CUDA, so without NCCL";
  if (NcclCommunicator::device_count() == 0) GTEST_SKIP() << "no GPU visible";
  const int device = 0;
  auto comms = NcclCommunicator::create_all({&device, 1});
  NcclCommunicator& c = *comms[0];
  EXPECT_EQ(c.size(), 1);
  auto x = t::random_floats(1001, 3);
  const auto want = x;
  c.all_reduce_sum(x.data(), x.size());
  EXPECT_EQ(x, want);
  std::vector<float> out(x.size());
  const size_t counts[] = {x.size()};
  c.all_gather(x.data(), counts, out.data());
  EXPECT_EQ(out, want);
  std::vector<int32_t> ids = {4, 5, 6};
  c.broadcast(ids.data(), ids.size(), 0);
  EXPECT_EQ(ids, (std::vector<int32_t>{4, 5, 6}));
  c.barrier();
}

TEST(NcclCommunicator, WithoutAGpuSaysSo) {
  if (NcclCommunicator::built() && NcclCommunicator::device_count() > 0)
    GTEST_SKIP() << "a GPU is present";
  const int device = 0;
  EXPECT_THROW(NcclCommunicator::create_all({&device, 1}), Error);
}

}  // namespace
