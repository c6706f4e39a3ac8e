// llm tokenize / llm detokenize: text <-> token ids with any tokenizer file (chapter 2).
//
//   llm tokenize --model FILE (--text S | --text-file F) [--no-bos] [--no-parse-special]
//                [--vocab-size N]
//     prints the ids space-separated on one line. The text is used exactly as given (no escape
//     processing). BOS comes first when the vocabulary uses one; special tokens written in the
//     text ("<|im_start|>") become their ids, as llama.cpp's llama-tokenize does by default.
//   llm detokenize --model FILE --ids "1 2 3" [--show-special] [--vocab-size N]
//     prints the text of the ids, then a newline; --show-special spells control tokens out.
// FILE is a .gguf, a tokenizer.json or a llama2.c tokenizer.bin (whose token count is
// --vocab-size, or inferred from the file's length).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "args.h"
#include "llm/config/error.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm::cli {
namespace {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("--text-file " + path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_tokenize(Args& args) {
  const std::string model = args.required("--model");
  const auto text = args.value("--text");
  const auto text_file = args.value("--text-file");
  const bool no_bos = args.has("--no-bos");
  const bool no_special = args.has("--no-parse-special");
  const int vocab_size = args.get_int("--vocab-size", 0);
  args.finish();
  if (text.has_value() == text_file.has_value())
    throw Error("give exactly one of --text S or --text-file F");
  const auto tok = load_tokenizer(model, vocab_size);
  const std::vector<int32_t> ids = tok->encode(text ? *text : read_text_file(*text_file),
                                               {.add_bos = !no_bos, .parse_special = !no_special});
  std::string line;
  for (int32_t id : ids) {
    if (!line.empty()) line += ' ';
    line += std::to_string(id);
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

int run_detokenize(Args& args) {
  const std::string model = args.required("--model");
  const std::string ids = args.required("--ids");
  const bool show_special = args.has("--show-special");
  const int vocab_size = args.get_int("--vocab-size", 0);
  args.finish();
  const auto tok = load_tokenizer(model, vocab_size);
  const std::string text = tok->decode(parse_token_ids(ids, "--ids"), show_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

extern const Command kTokenize{
    "tokenize",
    "tokenize --model FILE (--text S | --text-file F) [--no-bos] [--no-parse-special] "
    "[--vocab-size N]",
    &run_tokenize};
extern const Command kDetokenize{
    "detokenize", "detokenize --model FILE --ids \"1 2 3\" [--show-special] [--vocab-size N]",
    &run_detokenize};

}  // namespace llm::cli
