// llm quantize --in FILE --out FILE.gguf --type q8_0|q4_0|q4_1 [--tokenizer FILE] [--quiet]
//
// Any model file (GGUF, safetensors, llama2.c) to a quantized GGUF that is a complete model:
// tensor types as llama.cpp's llama-quantize chooses them, tokenizer and chat template carried
// over. Prints each tensor's types, sizes and error against the source, as a table on stdout
// whose rows count [i/N]; when that table is not on the terminal (--quiet, or stdout
// redirected), a terminal on stderr gets one progress line instead.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <unistd.h>

#include "args.h"
#include "llm/loading/quantize_model.h"

namespace llm::cli {
namespace {

double mib(size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

int run_quantize(Args& args) {
  const std::string in = args.required("--in");
  const std::string out = args.required("--out");
  const std::string type = args.required("--type");
  const std::string tok = args.value("--tokenizer").value_or("");
  const bool quiet = args.has("--quiet");
  args.finish();
  std::string lower = type;  // Q8_0 as llama-quantize spells it, or q8_0
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto target = dtype_from_name(lower);
  if (!target || (*target != DType::Q8_0 && *target != DType::Q4_0 && *target != DType::Q4_1))
    throw Error("--type must be q8_0, q4_0 or q4_1, got '" + type + "'");
  // The input is memory-mapped: writing over it (under any spelling of its path, or a link to
  // it) would pull the data out from under the reader. Compare the files, not the strings.
  std::error_code ec;
  if (in == out || std::filesystem::equivalent(in, out, ec))
    throw Error("--out " + out + " is the same file as --in " + in +
                " (the input is memory-mapped; write to another file)");

  const auto t0 = std::chrono::steady_clock::now();
  const Checkpoint src = open_checkpoint(in, tok);
  std::printf("%s (%s): %s\n", in.c_str(), model_format_name(src.format),
              src.config.summary().c_str());
  // Rows count [i/N]; N is known before the first tensor is done: the checkpoint lists them.
  const size_t n = src.tensors.size();
  const int digits = static_cast<int>(std::to_string(n).size());
  const int count_width = 2 * digits + 3;  // "[i/N]"
  // One line on stderr, rewritten per tensor, when stderr is a terminal that the table is not
  // already scrolling past.
  const bool progress = isatty(STDERR_FILENO) && (quiet || !isatty(STDOUT_FILENO));
  if (!quiet)
    std::printf("%*s %-32s %-14s %-13s %21s %10s %10s  %s\n", count_width, "", "tensor", "shape",
                "type", "size (KiB)", "nmse", "rms", "note");
  size_t i = 0;
  // Written beside the destination and renamed into place when complete: a failure (or Ctrl-C)
  // never leaves a truncated model under the requested name.
  const std::string part = out + ".part";
  struct RemovePart {
    const std::string& path;
    bool keep = false;
    ~RemovePart() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove(path, ignored);
    }
  } cleanup{part};
  QuantizeSummary s;
  {
    // The progress line is cleared however quantize_model ends: an error starts a line of its own.
    struct ClearProgress {
      bool on;
      ~ClearProgress() {
        if (on) std::fputs("\r\x1b[K", stderr);
      }
    } clear{progress};
    s = quantize_model(src, *target, part, [&](const TensorQuantReport& r) {
      ++i;
      char count[48];
      std::snprintf(count, sizeof count, "[%*zu/%zu]", digits, i, n);
      if (progress) {  // \r back to the line's start, \x1b[K clears what the last name left
        std::fprintf(stderr, "\r%s %s%s\x1b[K", count, r.name.c_str(),
                     i == n ? ", writing the file" : "");
        std::fflush(stderr);
      }
      if (quiet) return;
      const std::string types =
          std::string(dtype_name(r.from)) + " -> " + std::string(dtype_name(r.to));
      char sizes[64];
      std::snprintf(sizes, sizeof sizes, "%9.1f -> %9.1f", static_cast<double>(r.bytes_in) / 1024,
                    static_cast<double>(r.bytes_out) / 1024);
      if (r.from == r.to)
        std::printf("%s %-32s %-14s %-13s %21s %10s %10s  %s\n", count, r.name.c_str(),
                    r.shape.str().c_str(), types.c_str(), sizes, "-", "-",
                    r.note.empty() ? "copied" : r.note.c_str());
      else
        std::printf("%s %-32s %-14s %-13s %21s %10.3e %10.3e  %s\n", count, r.name.c_str(),
                    r.shape.str().c_str(), types.c_str(), sizes, r.nmse, r.rms, r.note.c_str());
    });
  }
  std::filesystem::rename(part, out, ec);
  if (ec) throw Error("could not move " + part + " to " + out + ": " + ec.message());
  cleanup.keep = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "wrote %s: %d tensors (%d quantized, %d fallback%s), %.2f MiB -> %.2f MiB (%.1f%%), "
      "%.1f s\n",
      out.c_str(), s.n_tensors, s.n_quantized, s.n_fallback, s.n_fallback == 1 ? "" : "s",
      mib(s.bytes_in), mib(s.bytes_out),
      s.bytes_in ? 100.0 * static_cast<double>(s.bytes_out) / static_cast<double>(s.bytes_in) : 0.0,
      secs);
  if (s.has_tokenizer)
    std::printf("tokenizer: included%s\n", src.chat_template.empty() ? "" : ", with chat template");
  else
    std::printf("tokenizer: NOT included (%s): the output needs --tokenizer to generate text\n",
                s.tokenizer_note.c_str());
  return 0;
}

// llama-quantize takes its three arguments by position; these are named.
const Option kOptions[] = {
    {"--in", "FILE", "the model to quantize: GGUF, safetensors or llama2.c", ""},
    {"--out", "FILE", "the quantized GGUF to write (not the input)", ""},
    {"--type", "TYPE", "q8_0, q4_0 or q4_1 (any case: Q8_0 as llama-quantize spells it)", ""},
    kTokenizerOption,
    {"--quiet", "", "no table per tensor (a progress line on a terminal instead)", ""},
};

}  // namespace

extern const Command kQuantize{
    "quantize", "any model file to a quantized GGUF, tensor types as llama-quantize chooses them",
    "--in FILE --out FILE.gguf --type TYPE [options]", kOptions, &run_quantize};

}  // namespace llm::cli
