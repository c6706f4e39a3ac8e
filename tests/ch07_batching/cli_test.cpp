// The `llm` command run as a user runs it: `llm bench --concurrency` (a smoke run on
// stories260K: the contract of its JSON, not its speed), kv-trace, chat, perplexity, and the
// command line itself — option tables, --help, the README's reference, the printed seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

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

TEST(LlmCli, GenerateTakesLlamaCppFlags) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const auto short_flags = t::run_command(t::bin_dir() + "/llm generate -m " + model +
                                          " --prompt-ids 1 -n 12 --temp 0 -s 3 -c 64 -t 1 "
                                          "--print-ids 2>/dev/null");
  const auto long_flags = t::run_command(t::bin_dir() + "/llm generate --model " + model +
                                         " --prompt-ids 1 --n-predict 12 --temperature 0 "
                                         "--seed 3 --ctx-size 64 --threads 1 --print-ids "
                                         "2>/dev/null");
  const auto equals = t::run_command(t::bin_dir() + "/llm generate --model=" + model +
                                     " --prompt-ids=1 --max-tokens=12 --temp=0 --seed=3 "
                                     "--ctx=64 --threads=1 --print-ids 2>/dev/null");
  ASSERT_EQ(short_flags.status, 0) << short_flags.out;
  EXPECT_EQ(short_flags.out, long_flags.out);
  EXPECT_EQ(short_flags.out, equals.out);
  EXPECT_EQ(std::count(short_flags.out.begin(), short_flags.out.end(), ' '), 11) << "12 ids";
  const auto missing = t::run_command(t::bin_dir() + "/llm generate --prompt-ids 1 2>&1");
  EXPECT_NE(missing.out.find("--model (-m) is required"), std::string::npos) << missing.out;
}

// -f reads the prompt from a file (less one final newline, as llama.cpp's -f), and tokenize
// takes llama-tokenize's -p/-f beside its --text/--text-file.
TEST(LlmCli, PromptFromAFileAndTokenizeAliases) {
  const std::string model = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string file = t::temp_path("prompt.txt");
  { std::ofstream(file) << "Once upon a time\n"; }
  const std::string gen = t::bin_dir() + "/llm generate -m " + model + " -n 8 --temp 0 -t 1 ";
  const auto from_file = t::run_command(gen + "-f " + file + " --print-ids 2>/dev/null");
  const auto from_text = t::run_command(gen + "-p 'Once upon a time' --print-ids 2>/dev/null");
  ASSERT_EQ(from_file.status, 0) << from_file.out;
  EXPECT_EQ(from_file.out, from_text.out);
  const std::string tok = t::bin_dir() + "/llm tokenize -m " + model;
  const auto text = t::run_command(tok + " --text 'Once upon a time' 2>&1");
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_EQ(t::run_command(tok + " -p 'Once upon a time' 2>&1").out, text.out);
  EXPECT_EQ(t::run_command(tok + " --prompt 'Once upon a time' 2>&1").out, text.out);
  const auto file_ids = t::run_command(tok + " -f " + file + " 2>&1");
  EXPECT_EQ(file_ids.out, t::run_command(tok + " --text-file " + file + " 2>&1").out);
  EXPECT_NE(file_ids.out, text.out) << "tokenize keeps the file's final newline";
}

namespace {

// The commands `llm --help` lists (its "commands:" lines, less --version).
std::vector<std::string> listed_commands() {
  const auto r = t::run_command(t::bin_dir() + "/llm --help");
  EXPECT_EQ(r.status, 0) << r.out;
  std::vector<std::string> out;
  std::istringstream in(r.out.substr(r.out.find("commands:")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && line.starts_with("  ")) {
    const std::string name = line.substr(2, line.find(' ', 2) - 2);
    if (name != "--version") out.push_back(name);
  }
  return out;
}

struct ListedOption {
  std::vector<std::string> names;
  bool takes_value = false;
};

// The options a `--help` text lists: lines "  -m, --model FILE   help", the names before the
// placeholder (a long name list has its help on the next line).
std::vector<ListedOption> listed_options(const std::string& help) {
  std::vector<ListedOption> out;
  std::istringstream in(help.substr(help.find("\noptions:\n") + 10));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("  -")) continue;
    std::string left = line.substr(2, line.find("  ", 2) - 2);
    ListedOption o;
    for (size_t at = 0; at <= left.size();) {
      size_t end = left.find(", ", at);
      if (end == std::string::npos) end = left.size();
      std::string name = left.substr(at, end - at);
      if (const size_t sp = name.find(' '); sp != std::string::npos) {
        o.takes_value = true;  // "--model FILE"
        name.resize(sp);
      }
      o.names.push_back(name);
      at = end + 2;
    }
    if (o.names.front() != "-h") out.push_back(o);
  }
  return out;
}

}  // namespace

// The help is generated from the table that parsing uses: every name of every option a help
// lists is accepted (with a value when the help shows a placeholder), and no run ends in an
// internal error (the code reading an option its table lacks). Without a model each run stops
// at a usage error, after all its lookups: required options are reported by finish().
TEST(LlmCli, EveryCommandAcceptsEveryOptionItsHelpLists) {
  const auto commands = listed_commands();
  ASSERT_GE(commands.size(), 10u);
  int checked = 0;
  for (const std::string& cmd : commands) {
    const auto help = t::run_command(t::bin_dir() + "/llm " + cmd + " --help");
    ASSERT_EQ(help.status, 0) << cmd;
    EXPECT_TRUE(help.out.starts_with("usage: llm " + cmd + " ")) << help.out;
    EXPECT_EQ(t::run_command(t::bin_dir() + "/llm " + cmd + " -h").out, help.out);
    const auto options = listed_options(help.out);
    EXPECT_FALSE(options.empty()) << cmd;
    for (const ListedOption& o : options)
      for (const std::string& name : o.names) {
        // "1" is a valid number, and names no model: no command gets as far as running one.
        const std::string arg = name + (o.takes_value ? " 1" : "");
        const auto r =
            t::run_command(t::bin_dir() + "/llm " + cmd + " " + arg + " </dev/null 2>&1");
        EXPECT_EQ(r.out.find("unknown argument"), std::string::npos) << cmd << " " << arg << "\n"
                                                                     << r.out;
        EXPECT_EQ(r.out.find("internal error"), std::string::npos) << cmd << " " << arg << "\n"
                                                                   << r.out;
        EXPECT_NE(r.status, 3) << cmd << " " << arg;
        if (o.takes_value && name.starts_with("--")) {  // --name=value too
          const auto eq =
              t::run_command(t::bin_dir() + "/llm " + cmd + " " + name + "=1 </dev/null 2>&1");
          EXPECT_EQ(eq.out.find("unknown argument"), std::string::npos) << cmd << " " << name;
        }
        ++checked;
      }
  }
  EXPECT_GT(checked, 100);
}

TEST(LlmCli, UnknownArgumentsAndMissingValuesAreRejected) {
  for (const std::string& cmd : listed_commands()) {
    const auto r = t::run_command(t::bin_dir() + "/llm " + cmd + " --no-such-flag 2>&1");
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.out.find("unknown argument '--no-such-flag' (see llm " + cmd + " --help)"),
              std::string::npos)
        << r.out;
  }
  // A stray word, a switch given a value, a value option at the end without one.
  for (const auto& [args, want] :
       {std::pair{"generate stray", "unknown argument 'stray'"},
        std::pair{"generate --print-ids=1", "--print-ids takes no value"},
        std::pair{"generate -m", "--model (-m) needs a value"},
        std::pair{"bench --concurrency 1 -m x --plot p.png", "--plot does not apply here"}}) {
    const auto r = t::run_command(t::bin_dir() + "/llm " + args + " 2>&1");
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.out.find(want), std::string::npos) << args << "\n" << r.out;
  }
  const auto top = t::run_command(t::bin_dir() + "/llm 2>&1");
  EXPECT_EQ(top.status, 2);
  EXPECT_NE(top.out.find("generate"), std::string::npos) << top.out;
}

// README.md's command reference is the binary's own help (scripts/gen-cli-reference writes
// it): a changed option table without a regenerated README fails here.
TEST(LlmCli, ReadmeReferenceIsTheBinarysHelp) {
  const std::string readme = t::read_file(t::source_dir() + "/README.md");
  const std::string begin = "<!-- cli-reference:begin -->\n";
  const size_t b = readme.find(begin), e = readme.find("<!-- cli-reference:end -->");
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  ASSERT_LT(b, e);
  const auto ref = t::run_command(t::bin_dir() + "/llm --help-markdown");
  ASSERT_EQ(ref.status, 0);
  EXPECT_EQ(readme.substr(b + begin.size(), e - b - begin.size()), ref.out)
      << "README.md's command reference is stale: run scripts/gen-cli-reference";
}

// As llama.cpp: without -s, sampling draws a random seed and prints it, and -s with that seed
// replays the run; greedy decoding (--temp 0) has no use for one.
TEST(LlmCli, GenerateDrawsARandomSeedAndPrintsIt) {
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string gen = t::bin_dir() + "/llm generate -m " + model +
                          " --prompt-ids 1 -n 24 -t 1 --print-ids --top-k 0 --min-p 0 ";
  const auto seed_of = [](const std::string& err_file) -> long long {
    const std::string err = t::read_file(err_file);
    const size_t at = err.find("seed: ");
    return at == std::string::npos ? -1 : std::stoll(err.substr(at + 6));
  };
  const std::string e1 = t::temp_path("seed1.err"), e2 = t::temp_path("seed2.err");
  const auto a = t::run_command(gen + "--temp 1 2>" + e1);
  const auto b = t::run_command(gen + "--temp 1 2>" + e2);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(b.status, 0);
  const long long s1 = seed_of(e1), s2 = seed_of(e2);
  ASSERT_GE(s1, 0) << t::read_file(e1);
  ASSERT_GE(s2, 0) << t::read_file(e2);
  EXPECT_NE(s1, s2) << "two draws of std::random_device";
  const auto replay = t::run_command(gen + "--temp 1 -s " + std::to_string(s1) + " 2>/dev/null");
  EXPECT_EQ(replay.out, a.out) << "-s with the printed seed replays the run";
  const auto g1 = t::run_command(gen + "--temp 0 2>" + e1);
  const auto g2 = t::run_command(gen + "--temp 0 2>/dev/null");
  EXPECT_EQ(g1.out, g2.out);
  EXPECT_EQ(seed_of(e1), -1) << "greedy prints no seed";
}

// The table's rows count [i/N] (N from the checkpoint's tensor list); --quiet drops them, and
// without a terminal on stderr there is no progress line either.
TEST(LlmQuantizeProgress, RowsCountTensors) {
  const std::string model = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string out = t::temp_path("progress-q8_0.gguf");
  const auto r = t::run_llm("quantize --in " + model + " --out " + out + " --type q8_0");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\n[ 1/48] token_embd.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n[48/48] "), std::string::npos) << r.out;
  const auto quiet =
      t::run_llm("quantize --in " + model + " --out " + out + " --type q8_0 --quiet", true);
  ASSERT_EQ(quiet.status, 0) << quiet.out;
  EXPECT_EQ(quiet.out.find("/48]"), std::string::npos) << quiet.out;
  std::remove(out.c_str());
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
