// llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score, int32 byte
// length, the bytes. The token count is not stored (it is the model's vocab_size).
#include "llm/config/byte_reader.h"
#include "llm/config/error.h"
#include "llm/config/mapped_file.h"
#include "llm/tokenizer/sentencepiece.h"

namespace llm {

std::unique_ptr<Tokenizer> tokenizer_from_llama2c(const std::string& path,
                                                  int32_t vocab_size_hint) {
  if (vocab_size_hint < 0)
    throw Error(path + ": vocabulary size " + std::to_string(vocab_size_hint) + " is negative");
  const auto file = MappedFile::open(path);
  ByteReader r(file->bytes(), path);
  const int32_t max_len = r.read<int32_t>("max_token_length");
  if (max_len <= 0 || max_len > (1 << 20))
    r.fail("max_token_length", std::to_string(max_len) + " is not a plausible token length");

  Vocab v;
  v.source = path;
  const size_t want = vocab_size_hint > 0 ? static_cast<size_t>(vocab_size_hint) : SIZE_MAX;
  while (v.pieces.size() < want && (vocab_size_hint > 0 || r.remaining() > 0)) {
    const std::string field = "token " + std::to_string(v.pieces.size());
    const float score = r.read<float>(field + " score");
    const int32_t len = r.read<int32_t>(field + " length");
    if (len < 0 || len > max_len)
      r.fail(field + " length", std::to_string(len) + " is outside [0, max_token_length = " +
                                    std::to_string(max_len) + "]");
    std::string piece(r.take_string(static_cast<uint64_t>(len), field + " bytes"));
    // llama2.c writes SentencePiece's "▁" as a plain space; put it back so that one encoder
    // serves both files.
    std::string normalized;
    for (char c : piece) {
      if (c == ' ') {
        normalized += "\xE2\x96\x81";
      } else {
        normalized += c;
      }
    }
    v.pieces.push_back(std::move(normalized));
    v.scores.push_back(score);
  }
  if (v.pieces.size() < 3)
    throw Error(path + ": " + std::to_string(v.pieces.size()) +
                " tokens; a llama2.c vocabulary starts with <unk>, <s>, </s>");

  // Ids 0/1/2 are <unk>, <s>, </s> (stored as "\n<s>\n" and "\n</s>\n"); then byte tokens.
  v.pieces[1] = "<s>";
  v.pieces[2] = "</s>";
  v.types.assign(v.pieces.size(), TokenType::Normal);
  v.types[0] = TokenType::Unknown;
  v.types[1] = v.types[2] = TokenType::Control;
  for (size_t i = 3; i < v.pieces.size(); ++i) {
    const std::string& p = v.pieces[i];
    if (p.size() == 6 && p.starts_with("<0x") && p.back() == '>') v.types[i] = TokenType::Byte;
  }
  v.unk = 0, v.bos = 1, v.eos = 2;
  v.add_bos = true;
  v.finalize();
  return std::make_unique<SentencePieceTokenizer>(std::move(v), /*add_space_prefix=*/true);
}

}  // namespace llm
