// llm — the command-line front of the engine. It links the latest chapter and gains a
// subcommand as each chapter lands; every subcommand lives in its own cmd_<name>.cpp.
#include <cstdio>
#include <cstring>

#include "args.h"
#include "llm/cuda/cuda_backend.h"
#include "llm/parallel/mpi_communicator.h"
#include "llm/parallel/nccl_communicator.h"
#include "llm/simd/cpu_features.h"

namespace llm::cli {
// Subcommands (one file each).
extern const Command kInfo;
extern const Command kQuantize;
extern const Command kGenerate;
extern const Command kPerplexity;
extern const Command kTokenize;
extern const Command kDetokenize;
extern const Command kSynth;
extern const Command kBench;
extern const Command kKvTrace;
extern const Command kServe;
extern const Command kChat;
}  // namespace llm::cli

namespace {

using llm::cli::Command;

const Command* const kCommands[] = {
    &llm::cli::kGenerate, &llm::cli::kChat,     &llm::cli::kPerplexity, &llm::cli::kInfo,
    &llm::cli::kQuantize, &llm::cli::kTokenize, &llm::cli::kDetokenize, &llm::cli::kSynth,
    &llm::cli::kBench,    &llm::cli::kKvTrace,  &llm::cli::kServe,
};

// `llm --help`: every command with its one-line summary.
void usage(FILE* out) {
  std::fprintf(out, "usage: llm <command> [options]   (llm <command> --help: its options)\n\n");
  std::fprintf(out, "commands:\n");
  for (const Command* c : kCommands) std::fprintf(out, "  %-12s %s\n", c->name, c->summary);
  std::fprintf(out, "  %-12s %s\n", "--version", "the version, the build and what this CPU offers");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version"))) {
    // The version and what this binary was built with and can use here.
    std::printf("llm %s (llmcpp)\n", LLMCPP_VERSION);
    std::printf("built: %s %s, %s\n", __DATE__, __TIME__, "g++ " __VERSION__);
    std::printf("CPU: %s\n", llm::cpu_features().summary().c_str());
    std::printf("CUDA: %s\n", llm::cuda::device_info().summary().c_str());
    std::printf("tensor parallel: threads, MPI %s, NCCL %s\n",
                llm::parallel::MpiCommunicator::built() ? "built" : "not built",
                llm::parallel::NcclCommunicator::built() ? "built" : "not built");
    return 0;
  }
  if (argc >= 2 && !std::strcmp(argv[1], "--help-markdown")) {
    // Not in the usage: scripts/gen-cli-reference puts this in README.md.
    std::fputs(llm::cli::markdown_reference(kCommands).c_str(), stdout);
    return 0;
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command* c : kCommands) {
    if (std::strcmp(argv[1], c->name) != 0) continue;
    try {
      llm::cli::Args args(*c, argc - 1, argv + 1);
      if (args.help()) {
        std::fputs(llm::cli::help_text(*c).c_str(), stdout);
        return 0;
      }
      return c->run(args);
    } catch (const llm::Error& e) {
      std::fprintf(stderr, "llm %s: error: %s\n", c->name, e.what());
      return 1;
    } catch (const std::exception& e) {
      // A std::logic_error from Args is here: the code read an option its table lacks.
      std::fprintf(stderr, "llm %s: internal error: %s\n", c->name, e.what());
      return 3;
    }
  }
  std::fprintf(stderr, "llm: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
