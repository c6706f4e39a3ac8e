// A tiny argument parser for the `llm` subcommands: `--flag value`, `--switch`, and a check
// that every argument given was understood (a typo is an error, not silently ignored).
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "llm/config/error.h"

namespace llm::cli {

class Args {
 public:
  Args(int argc, char** argv);  // argv[0] is the subcommand's name
  // A flag with a value; throws llm::Error when given without one. A flag may have several
  // names, "-m|--model": llama.cpp's short ones beside ours.
  std::optional<std::string> value(const std::string& flag);
  std::string required(const std::string& flag);
  // A flag without a value.
  bool has(const std::string& flag);
  int get_int(const std::string& flag, int fallback);
  float get_float(const std::string& flag, float fallback);
  uint64_t get_u64(const std::string& flag, uint64_t fallback);
  // --threads N (or -t N) of every command that runs a model; default: the physical cores.
  int get_threads();
  // Throws llm::Error naming the first argument that no value()/has() call asked for.
  void finish() const;

 private:
  std::vector<std::string> argv_;
  std::set<size_t> used_;
};

}  // namespace llm::cli

namespace llm {
class Backend;
struct SamplerConfig;
}

namespace llm::cli {

// Throws llm::Error when sampling flags are out of range (generate and chat share the rules).
void check_sampling(const SamplerConfig& sc);

// Prints each op's chosen variant, calls and fallbacks (stderr), as `llm info --kernels` does.
void print_kernel_stats(const Backend& backend, FILE* out = stderr);

struct Command {
  const char* name;
  const char* usage;
  int (*run)(Args& args);  // returns the exit status
};

}  // namespace llm::cli
