// Encode (and decode) throughput of each tokenizer family on ~1 MB of English prose
// (Pride and Prejudice from ../shared/texts). Reported as bytes/s of input text.
//
//   bench_ch02_encode_bench [--benchmark_filter=Encode]
// Files are found through $LLMCPP_SHARED / $LLMCPP_MODELS / $LLMCPP_DEFAULT_MODEL like the tests;
// a benchmark whose file is absent is skipped with the reason.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "llm/tokenizer/tokenizer.h"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
const std::string kShared = env_or("LLMCPP_SHARED", LLMCPP_SOURCE_DIR "/../shared");
const std::string kModels = env_or("LLMCPP_MODELS", kShared + "/models");

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first 1 MB of the novel (cut at a line end so no character is split).
const std::string& text() {
  static const std::string t = [] {
    std::string all = read_all(kShared + "/texts/pride-and-prejudice.txt");
    if (all.size() > (1 << 20)) all.resize(all.rfind('\n', 1 << 20) + 1);
    return all;
  }();
  return t;
}

void encode(benchmark::State& st, const std::string& path) {
  if (text().empty()) return st.SkipWithError("../shared/texts/pride-and-prejudice.txt is absent");
  std::unique_ptr<llm::Tokenizer> tok;
  try {
    tok = llm::load_tokenizer(path);
  } catch (const std::exception& e) {
    return st.SkipWithError(e.what());
  }
  size_t n = 0;
  for (auto _ : st) {
    const std::vector<int32_t> ids = tok->encode(text(), {.add_bos = false});
    benchmark::DoNotOptimize(ids.data());
    n = ids.size();
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * text().size()));
  st.counters["tokens"] = static_cast<double>(n);
  st.counters["bytes_per_token"] = static_cast<double>(text().size()) / static_cast<double>(n);
}

void decode(benchmark::State& st, const std::string& path) {
  if (text().empty()) return st.SkipWithError("../shared/texts/pride-and-prejudice.txt is absent");
  std::unique_ptr<llm::Tokenizer> tok;
  try {
    tok = llm::load_tokenizer(path);
  } catch (const std::exception& e) {
    return st.SkipWithError(e.what());
  }
  const std::vector<int32_t> ids = tok->encode(text(), {.add_bos = false});
  for (auto _ : st) benchmark::DoNotOptimize(tok->decode(ids));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * text().size()));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string default_model =
      env_or("LLMCPP_DEFAULT_MODEL", LLMCPP_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::pair<const char*, std::string> files[] = {
      {"sentencepiece/llama2_tokenizer.bin", kModels + "/tokenizer.bin"},
      {"sentencepiece/llama2_tokenizer.json", kShared + "/tokenizers/llama2/tokenizer.json"},
      {"byte_level/gpt2_gguf", kShared + "/golden/tokenizer/ggml-vocab-gpt-2.gguf"},
      {"byte_level/smollm2_gguf", default_model},
      {"byte_level/smollm2_tokenizer.json", kShared + "/tokenizers/smollm2/tokenizer.json"},
  };
  for (const auto& [name, path] : files)
    benchmark::RegisterBenchmark((std::string("Encode/") + name).c_str(), encode, path)
        ->Unit(benchmark::kMillisecond);
  for (const auto& [name, path] : files)
    benchmark::RegisterBenchmark((std::string("Decode/") + name).c_str(), decode, path)
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
