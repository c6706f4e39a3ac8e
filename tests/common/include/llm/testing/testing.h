// Test helpers shared by every chapter: where the real models and references are, seeded
// random data, and error metrics. A test that needs a file calls require_file(), which skips
// the test with the reason when the file is absent.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace llm::testing {

// $LLMCPP_MODELS, default <repo>/../shared/models.
std::string models_dir();
// $LLMCPP_SHARED, default <repo>/../shared (golden/, tokenizers/, texts/ live there).
std::string shared_dir();
// <repo>, for files the project commits (tests/golden/...).
std::string source_dir();
// The build directory's bin/ (for tests that run the `llm` program).
std::string bin_dir();
// The default model (<repo>/models/SmolLM2-135M-Instruct.Q4_1.gguf, or $LLMCPP_DEFAULT_MODEL).
std::string default_model_path();

// A path in the test temp directory unique to this process: ctest runs each test case as its
// own process, several at once, and two cases writing one fixed name would race (a file
// memory-mapped by one and truncated by the other dies with SIGBUS).
std::string temp_path(const std::string& name);

bool file_exists(const std::string& path);
std::string read_file(const std::string& path);  // throws std::runtime_error if unreadable

// Returns the path when the file exists, otherwise the empty optional plus a skip message;
// use as:  auto p = require_file(path); if (!p) GTEST_SKIP() << skip_reason(path);
std::optional<std::string> require_file(const std::string& path);
std::string skip_reason(const std::string& path);

// Seeded uniform floats in [lo, hi).
std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// Normalised mean squared error sum((a-b)^2)/sum(b^2), as ggml's test-backend-ops.
double nmse(std::span<const float> a, std::span<const float> ref);
double max_abs_diff(std::span<const float> a, std::span<const float> b);
// max |a-b| / max(|b|, floor) over elements.
double max_rel_diff(std::span<const float> a, std::span<const float> b, double floor = 1e-6);

// Runs a shell command, returns its exit status and captures stdout (and stderr if asked).
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult run_command(const std::string& cmd);
// Runs the built `llm` program with `args`; stderr is captured too, or discarded.
CommandResult run_llm(const std::string& args, bool with_stderr = false);

}  // namespace llm::testing
