// `llm bench --ladder` and `llm info --cpu/--kernels`, run as a user runs them (a smoke run on
// stories260K: the ladder's contract, not its speed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llm/testing/testing.h"

namespace t = llm::testing;

namespace {
t::CommandResult llm_cmd(const std::string& args) {
  return t::run_llm(args);
}
}  // namespace

TEST(LlmBench, LadderJsonHasEveryRungReferenceFirst) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto r =
      llm_cmd("bench --ladder --model " + model + " --threads 2 --prompt 16 --gen 8 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  const auto& rungs = j.at("rungs");
  ASSERT_EQ(rungs.size(), 6u) << r.out;
  EXPECT_EQ(rungs.front().at("name"), "ch04 reference f32, no KV cache");
  EXPECT_EQ(rungs[4].at("name"), "ch08 SIMD + 2 threads");
  EXPECT_EQ(rungs.back().at("name"), "ch07 batched, 16 streams");  // generation only
  for (const auto& rung : rungs) {
    for (const char* key :
         {"name", "prompt_tokens_per_s", "generation_tokens_per_s", "roofline_fraction"})
      EXPECT_TRUE(rung.contains(key)) << key;
    if (rung.at("prompt_tokens").get<int>() > 0) {
      EXPECT_GT(rung.at("prompt_tokens_per_s").get<double>(), 0);
    }
    EXPECT_GT(rung.at("generation_tokens_per_s").get<double>(), 0);
    EXPECT_GT(rung.at("roofline_fraction").get<double>(), 0);
  }
  const auto& roof = j.at("roofline");
  EXPECT_EQ(roof.at("bytes_per_token").get<double>(), 4 * 292800.0 - 4 * 512 * 64)
      << "stories260K: every f32 weight but the embedding (tied), read once per token";
  EXPECT_GT(roof.at("read_gb_per_s").get<double>(), 0.1);
  EXPECT_NEAR(
      roof.at("tokens_per_s").get<double>(),
      roof.at("read_gb_per_s").get<double>() * 1e9 / roof.at("bytes_per_token").get<double>(),
      1e-6 * roof.at("tokens_per_s").get<double>());
}

TEST(LlmBench, RejectsBadArguments) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  EXPECT_NE(llm_cmd("bench --model " + model).status, 0);  // no --ladder
  EXPECT_NE(llm_cmd("bench --ladder --model " + model + " --from ch99").status, 0);
  EXPECT_NE(llm_cmd("bench --ladder --model " + model + " --threads 0").status, 0);
  EXPECT_NE(llm_cmd("bench --ladder --model " + model + " --prompt 100000").status, 0);
}

TEST(LlmInfo, CpuListsFeaturesAndChosenKernels) {
  const auto r = llm_cmd("info --cpu");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* want : {"features:", "matmul/q4_1", "attention", "rmsnorm"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}
