// llm tokenize / llm detokenize: text <-> token ids with any tokenizer file (chapter 2).
//
//   llm tokenize -m FILE (-p TEXT | -f FILE) prints the ids space-separated on one line. The
//     text is used exactly as given (no escape processing). BOS comes first when the vocabulary
//     uses one; special tokens written in the text ("<|im_start|>") become their ids, as
//     llama.cpp's llama-tokenize does by default.
//   llm detokenize -m FILE --ids "1 2 3" prints the text of the ids, then a newline;
//     --show-special spells control tokens out.
// FILE is a .gguf, a tokenizer.json or a llama2.c tokenizer.bin (whose token count is
// --vocab-size, or inferred from the file's length). Options: the tables at the end (--help).
#include <cstdio>

#include "args.h"
#include "llm/config/error.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm::cli {
namespace {

int run_tokenize(Args& args) {
  const std::string model = args.required("--model");
  const auto text = args.value("--prompt");
  const auto text_file = args.value("--file");
  const bool no_bos = args.has("--no-bos");
  const bool no_special = args.has("--no-parse-special");
  const int vocab_size = args.get_int("--vocab-size");
  args.finish();
  if (text.has_value() == text_file.has_value())
    throw Error("give exactly one of --prompt (--text) and --file (--text-file)");
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
  const int vocab_size = args.get_int("--vocab-size");
  args.finish();
  const auto tok = load_tokenizer(model, vocab_size);
  const std::string text = tok->decode(parse_token_ids(ids, "--ids"), show_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

// The tokenizer file, as the commands that run a model name it.
constexpr Option kTokenizerFile{"-m|--model", "FILE",
                                "a .gguf, a tokenizer.json or a llama2.c tokenizer.bin", ""};
constexpr Option kVocabSize{"--vocab-size", "N", "tokens of a tokenizer.bin; 0 = from its length",
                            "0"};

const Option kTokenizeOptions[] = {
    kTokenizerFile,
    {"-p|--prompt|--text", "TEXT", "the text, exactly as given", ""},
    {"-f|--file|--text-file", "FILE", "the text, read from a file", ""},
    {"--no-bos", "", "no BOS token first, even when the vocabulary uses one", ""},
    {"--no-parse-special", "", "special tokens in the text stay text", ""},
    kVocabSize,
};
const Option kDetokenizeOptions[] = {
    kTokenizerFile,
    {"--ids", "IDS", "the token ids, \"1 2 3\"", ""},
    {"--show-special", "", "spell control tokens out", ""},
    kVocabSize,
};

}  // namespace

extern const Command kTokenize{"tokenize", "text to token ids, printed on one line",
                               "-m FILE (-p TEXT | -f FILE) [options]", kTokenizeOptions,
                               &run_tokenize};
extern const Command kDetokenize{"detokenize", "token ids to text",
                                 "-m FILE --ids \"1 2 3\" [options]", kDetokenizeOptions,
                                 &run_detokenize};

}  // namespace llm::cli
