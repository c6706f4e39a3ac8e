// `llm generate --tp N` as a user runs it: with threads, and as the processes of an mpirun job.
#include <gtest/gtest.h>

#include "llm/testing/testing.h"

namespace t = llm::testing;

namespace {

std::string ids(const std::string& model, const std::string& extra) {
  const auto r = t::run_llm("generate -m " + model +
                            " --prompt-ids \"1 403 407\" -n 40 --temp 0 --print-ids " + extra);
  EXPECT_EQ(r.status, 0) << extra << "\n" << r.out;
  return r.out;
}

TEST(LlmGenerateTp, ThreadsAndMpiRanksGiveTheTokensOfOneRank) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string one = ids(model, "-t 1");
  EXPECT_EQ(std::count(one.begin(), one.end(), ' '), 39) << one;
  EXPECT_EQ(ids(model, "-t 2 --tp 2"), one);
  EXPECT_EQ(ids(model, "-t 2 --tp 4"), one);
#ifdef LLMCPP_MPIEXEC
  // detect_leaks=0: under the asan preset, Open MPI's unloaded components leak at exit.
  const std::string mpirun = "ASAN_OPTIONS=detect_leaks=0 " + std::string(LLMCPP_MPIEXEC);
  for (const char* np : {"2", "4"}) {
    const auto r = t::run_command(mpirun + " --oversubscribe --allow-run-as-root -np " + np + " " +
                                  t::bin_dir() + "/llm generate -m " + model +
                                  " --prompt-ids \"1 403 407\" -n 40 --temp 0 --print-ids -t 1 "
                                  "--tp-backend mpi 2>/dev/null");
    EXPECT_EQ(r.status, 0) << np;
    EXPECT_EQ(r.out, one) << np << " MPI ranks";  // only rank 0 prints
  }
  const auto wrong = t::run_command(mpirun + " --oversubscribe --allow-run-as-root -np 2 " +
                                    t::bin_dir() + "/llm generate -m " + model +
                                    " --prompt-ids 1 -n 2 --tp 3 --tp-backend mpi 2>&1");
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.out.find("--tp 3, but mpirun started 2 processes"), std::string::npos)
      << wrong.out;
#endif
}

TEST(LlmGenerateTp, ReportsBytesPerRankAndRefusesASplitOfTheHeadsThatDoesNotDivide) {
  const std::string model = t::default_model_path();
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto two = t::run_llm("generate -m " + model + " -p hi -n 2 --tp 2", true);
  EXPECT_EQ(two.status, 1);
  EXPECT_NE(two.out.find("9 query heads and 3 KV heads: use 1, 3 ranks"), std::string::npos)
      << two.out;
  const auto three = t::run_llm("generate -m " + model + " -p hi -n 4 --temp 0 --tp 3 -t 2", true);
  EXPECT_EQ(three.status, 0) << three.out;
  for (const char* want : {"tensor parallel: 3 ranks", "rank 2: weights",
                           "4608 bytes per token and layer"})  // 2 all-reduces of 576 floats
    EXPECT_NE(three.out.find(want), std::string::npos) << want << "\n" << three.out;
}

}  // namespace
