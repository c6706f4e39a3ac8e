// `llm bench --concurrency`, run as a user runs it (a smoke run on stories260K: the contract of
// its JSON, not its speed).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "llm/testing/testing.h"

namespace t = llm::testing;

namespace {
t::CommandResult llm_cmd(const std::string& args) {
  return t::run_llm(args);
}
}  // namespace

TEST(LlmBench, ConcurrencyJsonHasOneResultPerLevel) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto r = llm_cmd("bench --concurrency 1,3 --model " + model + " -t 2 --gen 9 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  const auto& results = j.at("results");
  ASSERT_EQ(results.size(), 2u);
  int i = 0;
  for (const int n : {1, 3}) {
    const auto& res = results[static_cast<size_t>(i++)];
    EXPECT_EQ(res.at("concurrency").get<int>(), n);
    for (const auto* mode : {&res, &res.at("static_batching")}) {
      EXPECT_EQ(mode->at("generated_tokens").get<int>(), 9 * n);  // EOS ignored
      EXPECT_GT(mode->at("generation_tokens_per_s").get<double>(), 0);
      for (const char* k : {"ttft_ms_p50", "ttft_ms_p99", "itl_ms_p50", "itl_ms_p99"})
        EXPECT_GT(mode->at(k).get<double>(), 0) << k;
      EXPECT_LE(mode->at("ttft_ms_p50").get<double>(), mode->at("ttft_ms_p99").get<double>());
      EXPECT_LE(mode->at("itl_ms_p50").get<double>(), mode->at("itl_ms_p99").get<double>());
    }
  }
}

TEST(LlmBench, ConcurrencyWithASharedPrefixReportsHitsAndCachedTimeToFirstToken) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto r = llm_cmd("bench --concurrency 4 --shared-prefix 64 --model " + model +
                         " -t 1 --prompt 8 --gen 6 --kv-type f32 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("kv_cache").at("type"), "f32");
  EXPECT_EQ(j.at("kv_cache").at("bytes_per_token").get<int>(), 2 * 5 * 32 * 4);  // K,V 5 layers
  const auto& kv = j.at("results")[0].at("kv");
  // 4 requests of 64 shared + 8 own tokens, the 64 (4 blocks) cached by the warm-up.
  EXPECT_NEAR(kv.at("prefix_hit_rate").get<double>(), 64.0 / 72, 1e-9);
  EXPECT_GE(kv.at("fragmentation_mean").get<double>(), 0.0);
  EXPECT_LT(kv.at("fragmentation_mean").get<double>(), 0.5);
  const auto& p = j.at("prefix_cache");
  EXPECT_EQ(p.at("prefix_tokens").get<int>(), 64);
  EXPECT_GT(p.at("ttft_ms_uncached").get<double>(), 0);
  EXPECT_GT(p.at("ttft_ms_cached").get<double>(), 0);
}

TEST(LlmBench, ConcurrencyRejectsBadLevels) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  EXPECT_NE(llm_cmd("bench --concurrency 0 --model " + model).status, 0);
  EXPECT_NE(llm_cmd("bench --concurrency x,2 --model " + model).status, 0);
  EXPECT_NE(llm_cmd("bench --concurrency 2 --model " + model + " --gen 100000").status, 0);
}

TEST(LlmKvTrace, DrawsSharingForkingAndTheEndWithEveryBlockReleased) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto r = llm_cmd("kv-trace --model " + model + " --blocks 16 -t 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("C1"), std::string::npos) << "the second sample of C is drawn";
  EXPECT_NE(r.out.find("*"), std::string::npos) << "some block is shown shared";
  const size_t end = r.out.rfind("\nend\n");
  ASSERT_NE(end, std::string::npos) << r.out;
  const std::string last = r.out.substr(end);
  const size_t pool = last.find('[');
  const std::string cells = last.substr(pool + 1, last.find(']') - pool - 1);
  EXPECT_EQ(cells.find_first_not_of("c. "), std::string::npos) << "in use at the end: " << cells;
  EXPECT_NE(last.find("used 0"), std::string::npos);
  EXPECT_EQ(last.find("prefix hits 0/"), std::string::npos) << "B reused A's prefix";
}

TEST(LlmChat, AnswersPipedQuestionsAndExits) {
  const std::string model = t::default_model_path();
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto r = t::run_command(
      "printf 'What is the capital of Germany?\\n/reset\\n"
      "What is the capital of Germany?\\n/exit\\nnever read\\n' | " +
      t::bin_dir() + "/llm chat -m " + model + " --temp 0 -n 32 -t 2 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  // Asked twice, with /reset between: the same greedy answer twice, and nothing after /exit.
  const size_t first = r.out.find("Berlin");
  ASSERT_NE(first, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Berlin", first + 1), std::string::npos) << r.out;
  // End of input without /exit ends the chat too.
  const auto eof = t::run_command("printf 'Hi\\n' | " + t::bin_dir() + "/llm chat -m " + model +
                                  " --temp 0 -n 8 -t 1 -s 1 2>/dev/null");
  EXPECT_EQ(eof.status, 0);
  // A tiny context: the conversation drops its oldest turns instead of failing.
  const auto small = t::run_command(
      "printf 'Tell me about the sea.\\nAnd the mountains?\\nAnd the rivers?\\nAnd lakes?\\n' | " +
      t::bin_dir() + "/llm chat -m " + model + " --temp 0 -n 48 -c 160 -t 2 2>&1");
  EXPECT_EQ(small.status, 0) << small.out;
  EXPECT_NE(small.out.find("dropped the oldest turn"), std::string::npos) << small.out;
}

TEST(LlmCli, VersionSaysVersionCpuAndCuda) {
  const auto r = t::run_command(t::bin_dir() + "/llm --version");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* want : {"llm 0.1", "CPU:", "CUDA:"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(LlmCli, GenerateTakesLlamaCppFlagsAndEveryCommandTakesHelp) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto short_flags = t::run_command(t::bin_dir() + "/llm generate -m " + model +
                                          " --prompt-ids 1 -n 12 --temp 0 -s 3 -c 64 -t 1 "
                                          "--print-ids 2>/dev/null");
  const auto long_flags = t::run_command(t::bin_dir() + "/llm generate --model " + model +
                                         " --prompt-ids 1 --n-predict 12 --temperature 0 "
                                         "--seed 3 --ctx-size 64 --threads 1 --print-ids "
                                         "2>/dev/null");
  ASSERT_EQ(short_flags.status, 0) << short_flags.out;
  EXPECT_EQ(short_flags.out, long_flags.out);
  EXPECT_EQ(std::count(short_flags.out.begin(), short_flags.out.end(), ' '), 11) << "12 ids";
  for (const char* cmd : {"generate", "chat", "serve", "bench", "perplexity", "kv-trace"}) {
    const auto h = t::run_command(t::bin_dir() + "/llm " + cmd + " --help");
    EXPECT_EQ(h.status, 0) << cmd;
    EXPECT_NE(h.out.find(std::string("usage: llm ") + cmd), std::string::npos) << h.out;
  }
  const auto missing = t::run_command(t::bin_dir() + "/llm generate --prompt-ids 1 2>&1");
  EXPECT_NE(missing.out.find("--model (-m) is required"), std::string::npos) << missing.out;
}

// llama-perplexity's method: non-overlapping chunks of -c tokens, the second half of each
// scored, so a text of T tokens scores floor(T / c) × (c − 1 − c/2) tokens.
TEST(LlmPerplexity, ScoresTheTokensLlamaPerplexityScores) {
  const std::string model = t::models_dir() + "/stories260K-f32.gguf";
  const std::string text = t::shared_dir() + "/texts/pride-and-prejudice.txt";
  if (!t::require_file(model) || !t::require_file(text))
    GTEST_SKIP() << t::skip_reason(model + " or " + text);
  const std::string part = t::temp_path("ppl.txt");
  { std::ofstream(part) << t::read_file(text).substr(0, 3000); }
  const auto ids = t::run_command(t::bin_dir() + "/llm tokenize --model " + model +
                                  " --text-file " + part + " 2>/dev/null");
  ASSERT_EQ(ids.status, 0);
  const long n_tokens = std::count(ids.out.begin(), ids.out.end(), ' ') + 1;
  const auto r = t::run_command(t::bin_dir() + "/llm perplexity -m " + model + " -f " + part +
                                " -c 64 --json -t 1 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.rfind("\n{") + 1));
  EXPECT_EQ(j.at("chunks").get<long>(), n_tokens / 64);
  EXPECT_EQ(j.at("tokens_scored").get<long>(), n_tokens / 64 * (64 - 1 - 32));
  EXPECT_GT(j.at("perplexity").get<double>(), 1.0);
  const auto two = t::run_command(t::bin_dir() + "/llm perplexity -m " + model + " -f " + part +
                                  " -c 64 --chunks 2 --json -t 1 2>/dev/null");
  const auto j2 = nlohmann::json::parse(two.out.substr(two.out.rfind("\n{") + 1));
  EXPECT_EQ(j2.at("tokens_scored").get<long>(), 2 * 31);
}
