// The options of the `llm` commands: one table per command, from which both the parsing and the
// `--help` text are generated, so the two cannot drift apart.
//
// Each command declares a static table of Option{names, value, help, default}. Args parses argv
// against it: every argument must be one of the table's names (`--name value`, `--name=value`,
// or a switch), else it is an llm::Error "unknown argument". The command then looks its options
// up by any of their names; looking up a name that is not in the table, or a switch as a value
// (or the reverse), throws std::logic_error — a programming error, exit 3 — so an option the
// code reads is always one that --help shows. A numeric default written in the table is the
// value the getters return when the option is absent: the help cannot promise one default while
// the code uses another.
//
// Why not CLI11 (libcli11-dev)? llama.cpp's users type multi-letter single-dash flags (`-sys`,
// `-np`, `-ngl`); CLI11 reads a single dash as one letter (or a group of them) and cannot name
// such options. The table parser and its help generator are about 250 lines, and they keep
// llama.cpp's spellings.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm/config/error.h"
#include "llm/cuda/cuda_backend.h"

namespace llm::cli {

struct Option {
  const char* names;  // "-m|--model": every name it answers to, llama.cpp's short one first
  const char* value;  // the value's placeholder in --help ("FILE", "N"); "" for a switch
  const char* help;   // one line
  const char* dflt;   // shown as "(default: X)"; a number here is what the getters return
};

class Args;

struct Command {
  const char* name;
  const char* summary;   // one line, for `llm --help`
  const char* synopsis;  // after "usage: llm <name> "
  std::span<const Option> options;
  int (*run)(Args& args);  // returns the exit status
};

class Args {
 public:
  // argv[0] is the command's name. Throws llm::Error for an argument the table does not name or
  // an option without its value; stops at -h/--help (see help()).
  Args(const Command& command, int argc, char** argv);
  bool help() const { return help_; }

  // The value given for an option (any of its names), or nothing.
  std::optional<std::string> value(std::string_view name);
  // The value given; when it is missing, "" now and the llm::Error "option ... is required"
  // from finish(): every lookup of a run happens before its first error, so a lookup that the
  // table lacks shows on any run, even one without its model.
  std::string required(std::string_view name);
  // The value given, or the table's default.
  std::string get(std::string_view name);
  // A switch.
  bool has(std::string_view name);
  // Numbers: the value given, checked (llm::Error when it is not a number), or else the table's
  // default; the opt_ forms return nothing when the option is absent (a default computed by the
  // code, such as "the physical cores").
  int get_int(std::string_view name);
  float get_float(std::string_view name);
  std::optional<int> opt_int(std::string_view name);
  std::optional<uint64_t> opt_u64(std::string_view name);
  // -t/--threads of every command that runs a model; default: the physical cores.
  int get_threads();
  // Call after the lookups. Throws llm::Error naming a required option that is missing, or one
  // that was given but that this run never read (a --ladder option given to `llm bench
  // --concurrency`, say).
  void finish() const;

 private:
  size_t find(std::string_view name, bool wants_value);  // logic_error when not in the table
  std::string display(size_t i) const;                   // "--model (-m)", for errors

  const Command& cmd_;
  std::vector<std::optional<std::string>> given_;  // per table entry; "" for a given switch
  std::vector<bool> read_;
  std::optional<size_t> missing_;  // the first required option not given
  bool help_ = false;
};

// `llm <command> --help`: the usage line, the summary and the options, aligned.
std::string help_text(const Command& command);
// `llm --help-markdown`: every command's help for the README (scripts/gen-cli-reference).
std::string markdown_reference(std::span<const Command* const> commands);

// Options several commands share, spelt and explained once.
inline constexpr Option kModelOption{
    "-m|--model", "FILE", "model file: GGUF, safetensors (file or directory), llama2.c", ""};
inline constexpr Option kTokenizerOption{
    "--tokenizer", "FILE", "tokenizer for a llama2.c checkpoint (tok512.bin, tokenizer.json)", ""};
inline constexpr Option kThreadsOption{"-t|--threads", "N", "compute threads",
                                       "the physical cores"};
// Chapter 9: where a model runs (every command that runs one).
inline constexpr Option kDeviceOption{
    "--device", "cpu|cuda",
    "cpu: chapter 8's kernels; cuda: chapter 9's backend on GPU 0 (the CPU for what it lacks)",
    "cpu"};

// Chapter 11: tensor parallelism (generate, serve).
inline constexpr Option kTpOption{"--tp", "N",
                                  "shard the model over N ranks (tensor parallelism); with "
                                  "--tp-backend mpi, the number of mpirun processes",
                                  "1, or mpirun's -np"};
inline constexpr Option kTpBackendOption{
    "--tp-backend", "threads|mpi",
    "threads: the ranks are threads of this process; mpi: each process of `mpirun -np N` is one",
    "threads"};
inline constexpr Option kKvTypeOption{"--kv-type", "TYPE", "KV cache elements: f16, f32 or q8_0",
                                      "f16"};
// Sampling, as llama.cpp names and defaults it (generate and chat).
inline constexpr Option kTempOption{"--temp|--temperature", "T", "sampling temperature; 0 = greedy",
                                    "0.8"};
inline constexpr Option kTopKOption{"--top-k", "K", "sample from the K most likely; 0 = off", "40"};
inline constexpr Option kTopPOption{"--top-p", "P", "smallest set with probability >= P; 1 = off",
                                    "0.95"};
inline constexpr Option kMinPOption{"--min-p", "P", "drop tokens under P x the top one; 0 = off",
                                    "0.05"};
inline constexpr Option kRepeatPenaltyOption{"--repeat-penalty", "R",
                                             "penalty for recent tokens; 1 = off", "1.0"};
inline constexpr Option kRepeatLastNOption{"--repeat-last-n", "N",
                                           "recent tokens the penalties look at", "64"};
inline constexpr Option kSeedOption{"-s|--seed", "N",
                                    "sampling seed, printed on stderr when sampling", "random"};

}  // namespace llm::cli

namespace llm {
class Backend;
struct SamplerConfig;
struct ModelConfig;
}  // namespace llm
namespace llm::parallel {
class ShardedModel;
}  // namespace llm::parallel

namespace llm::cli {

// The sampling options above (and those of a command's own table that it reads itself) into a
// SamplerConfig, range-checked; the seed is random unless -s is given (`seed_given` says which).
SamplerConfig read_sampling(Args& args, bool* seed_given = nullptr);

// A whole file as text (a prompt, a text to tokenize), or llm::Error naming it.
std::string read_text_file(const std::string& path);

// Prints each op's chosen variant, calls and fallbacks (stderr), as `llm info --kernels` does.
void print_kernel_stats(const Backend& backend, FILE* out = stderr);

// The backend for --device (chapter 9's helper, shared with the server).
using cuda::DeviceBackend;
using cuda::make_device_backend;

// Checks --tp N, --tp-backend and --device together (llm::Error when they do not go);
// returns whether the model is sharded (N > 1, or the ranks of an mpirun job).
bool check_tp_options(int tp, const std::string& tp_backend, const std::string& device);

// Chapter 11: how a sharded run went (stderr): each rank's bytes, and what crossed between the
// ranks for `tokens` tokens in `seconds`.
void print_tp_report(const parallel::ShardedModel& shards, const ModelConfig& config, int tokens,
                     double seconds);

}  // namespace llm::cli
