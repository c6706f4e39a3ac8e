// Chapter 11 over MPI: ctest starts this program under `mpirun -np N` (N = 2, 3, 4). Every
// rank runs every test — the collectives are called by all ranks in the same order — and rank 0
// checks the results: the collectives against the serial result on random data (uneven sizes),
// then greedy generation sharded across the N processes against one rank computed by rank 0
// alone: stories260K (8 heads / 4 KV heads) at 2 and 4 ranks, the default model (9 / 3) at 3.
#include <gtest/gtest.h>

#include "llm/loading/load_model.h"
#include "llm/parallel/mpi_communicator.h"
#include "llm/parallel/tensor_parallel.h"
#include "llm/testing/testing.h"
#include "llm/testing/greedy_trace.h"

using namespace llm;
using namespace llm::parallel;
namespace t = llm::testing;

namespace {

MpiCommunicator* g_comm = nullptr;

TEST(MpiCommunicator, CollectivesEqualTheSerialResult) {
  MpiCommunicator& c = *g_comm;
  const int world = c.size();
  const auto me = static_cast<size_t>(c.rank());
  for (const size_t n : {size_t{1}, size_t{7}, size_t{4099}}) {
    // Every rank can compute every rank's input (same seeds), so each checks the serial answer.
    std::vector<std::vector<float>> in;
    for (int r = 0; r < world; ++r) in.push_back(t::random_floats(n, 100 * n + r));
    std::vector<float> x = in[me];
    c.all_reduce_sum(x.data(), n);
    for (size_t i = 0; i < n; ++i) {
      double s = 0;
      for (int r = 0; r < world; ++r) s += in[static_cast<size_t>(r)][i];
      ASSERT_NEAR(x[i], s, 1e-5) << "all-reduce, n " << n << ", i " << i;
    }
    std::vector<size_t> counts;
    std::vector<float> want;
    for (int r = 0; r < world; ++r) {
      counts.push_back(n + static_cast<size_t>(r));  // uneven on purpose
      const auto part = t::random_floats(counts.back(), 7 * n + r);
      want.insert(want.end(), part.begin(), part.end());
    }
    const auto mine = t::random_floats(counts[me], 7 * n + me);
    std::vector<float> got(want.size());
    c.all_gather(mine.data(), counts, got.data());
    EXPECT_EQ(got, want) << "all-gather, n " << n;
    std::vector<float> b = c.rank() == world - 1 ? in[me] : std::vector<float>(n, -1.0f);
    c.broadcast(b.data(), n, world - 1);
    EXPECT_EQ(b, in.back()) << "broadcast, n " << n;
    std::vector<int32_t> ids(n, c.rank() == 0 ? 42 : -1);
    c.broadcast(ids.data(), n, 0);
    EXPECT_EQ(ids, std::vector<int32_t>(n, 42));
    c.barrier();
  }
}

// Rank 0 computes one rank's greedy trace alone, then all ranks run the sharded one.
void check_sharded(const Model& full, const std::vector<int32_t>& prompt, int n,
                   const std::string& what) {
  RankOptions o;
  o.threads = 1;
  o.kv.max_seqs = 2;
  o.kv.max_tokens = static_cast<int>(prompt.size()) + n + 1;
  o.kv.n_blocks = (o.kv.max_tokens + 15) / 16 * 2;
  t::Trace ref;
  if (g_comm->rank() == 0) {
    SingleRank one;
    Rank alone(full, one, o);
    ref = t::greedy(alone.transformer(), prompt, n);
  }
  Rank rank(full, *g_comm, o);
  if (g_comm->rank() != 0) {
    rank.transformer().follow();
    return;
  }
  const t::Trace got = t::greedy(rank.transformer(), prompt, n);
  rank.transformer().release_followers();
  t::expect_same_or_near_tie(ref, got, what);
}

TEST(MpiTensorParallel, Stories260KEqualsOneRank) {
  const std::string path = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  if (g_comm->size() != 2 && g_comm->size() != 4) GTEST_SKIP() << "run at 2 and 4 ranks";
  const LoadedModel lm = load_model(path);
  check_sharded(*lm.model, {1, 403, 407, 261, 378}, 48,
                "stories260K, " + std::to_string(g_comm->size()) + " MPI ranks");
}

TEST(MpiTensorParallel, DefaultModelOnThreeRanksEqualsOneRank) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  if (g_comm->size() != 3) GTEST_SKIP() << "run at 3 ranks (the model has 3 KV heads)";
  const LoadedModel lm = load_model(path);
  const auto prompt = lm.tokenizer->encode("The capital of France is", {.add_bos = true});
  check_sharded(*lm.model, prompt, 16, "default model, 3 MPI ranks");
}

}  // namespace

int main(int argc, char** argv) {
  MpiCommunicator comm;
  g_comm = &comm;
  ::testing::InitGoogleTest(&argc, argv);
  if (comm.rank() != 0) {  // one report, rank 0's; a failure anywhere still fails the job
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
