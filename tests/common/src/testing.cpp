#include "llm/testing/testing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace llm::testing {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/llmcpp_" + std::to_string(::getpid()) + "_" + name;
}

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

std::string source_dir() {
  return LLMCPP_SOURCE_DIR;
}
std::string shared_dir() {
  return env_or("LLMCPP_SHARED", source_dir() + "/../shared");
}
std::string models_dir() {
  return env_or("LLMCPP_MODELS", source_dir() + "/../shared/models");
}
std::string bin_dir() {
  return std::string(LLMCPP_BINARY_DIR) + "/bin";
}
std::string default_model_path() {
  return env_or("LLMCPP_DEFAULT_MODEL", source_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> require_file(const std::string& path) {
  if (file_exists(path)) return path;
  return std::nullopt;
}

std::string skip_reason(const std::string& path) {
  return path +
         " is absent (set LLMCPP_MODELS / LLMCPP_SHARED, or run scripts/fetch-default-model)";
}

std::vector<float> random_floats(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double nmse(std::span<const float> a, std::span<const float> ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < ref.size(); ++i) {
    const double d = static_cast<double>(a[i]) - ref[i];
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
  }
  return den > 0 ? num / den : num;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

double max_rel_diff(std::span<const float> a, std::span<const float> b, double floor) {
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]) /
                        std::max(std::fabs(static_cast<double>(b[i])), floor));
  return m;
}

CommandResult run_llm(const std::string& args, bool with_stderr) {
  return run_command(bin_dir() + "/llm " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace llm::testing
