// tokenize_demo — shows what a tokenizer does to a sentence: the ids, the vocabulary's pieces,
// the bytes each token stands for, and the round trip back to text.
//
//   ch02_tokenize_demo [TOKENIZER_FILE] [TEXT]
// TOKENIZER_FILE: a .gguf, a tokenizer.json or a llama2.c tokenizer.bin (default: the Llama-2
// tokenizer.bin from ../shared/models).
#include <cstdio>
#include <string>

#include "llm/config/error.h"
#include "llm/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : std::string(LLMCPP_SHARED_MODELS) + "/tokenizer.bin";
  const std::string text = argc > 2 ? argv[2] : "Hello world! Tokenizers turn text into ids: 🦙";
  try {
    const auto tok = llm::load_tokenizer(path);
    std::printf("%s\n%s\n\n", path.c_str(), tok->describe().c_str());
    const std::vector<int32_t> ids = tok->encode(text, {.add_bos = true, .parse_special = true});
    std::printf("%-8s %-24s %s\n", "id", "piece", "bytes");
    for (int32_t id : ids) {
      std::string shown;  // printable ASCII as is, other bytes as \xNN
      for (unsigned char c : tok->token_bytes(id)) {
        char buf[8];
        std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7F ? "%c" : "\\x%02x", c);
        shown += buf;
      }
      std::string piece = tok->piece(id);
      size_t width = 0;  // in characters, so that "▁Hello" lines up
      for (unsigned char c : piece) width += (c & 0xC0) != 0x80;
      piece.append(width < 24 ? 24 - width : 0, ' ');
      std::printf("%-8d %s \"%s\"%s\n", id, piece.c_str(), shown.c_str(),
                  tok->is_special(id) ? "  (special)" : "");
    }
    std::printf("\n%zu bytes -> %zu tokens\ndecode:                  \"%s\"\n", text.size(),
                ids.size(), tok->decode(ids).c_str());
    std::printf("decode, specials shown: \"%s\"\n", tok->decode(ids, true).c_str());
  } catch (const llm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
