// The tokenizer stored in a GGUF file's metadata (tokenizer.ggml.*), as llama.cpp reads it.
#include <cmath>

#include "llm/config/error.h"
#include "llm/config/gguf_metadata.h"
#include "llm/tokenizer/byte_level.h"
#include "llm/tokenizer/sentencepiece.h"

namespace llm {

namespace {

// A special token id key: absent or -1 (0xFFFFFFFF as u32) means "none".
int32_t special_id(const GgufMetadata& meta, const std::string& key, int32_t fallback,
                   size_t n_tokens) {
  const std::optional<int64_t> v = meta.opt_int(key);
  if (!v) return fallback;
  if (*v == -1 || *v == 0xFFFFFFFF) return -1;
  if (*v < 0 || static_cast<uint64_t>(*v) >= n_tokens)
    throw Error(meta.source() + ": " + key + " = " + std::to_string(*v) +
                " is outside the vocabulary [0, " + std::to_string(n_tokens) + ")");
  return static_cast<int32_t>(*v);
}

// "Ġ t" -> ids of "Ġ", "t" and "Ġt". The split is at the first space after the first byte, as
// in llama.cpp, so that a merge of a space token (" " + "x" in some vocabularies) still parses.
void add_merge(const Vocab& v, MergeTable& table, const std::string& merge, size_t index) {
  const std::string where =
      v.source + ": tokenizer.ggml.merges[" + std::to_string(index) + "] ('" + merge + "')";
  const size_t sp = merge.find(' ', 1);
  if (sp == std::string::npos) throw Error(where + " is not two tokens separated by a space");
  const std::string left = merge.substr(0, sp), right = merge.substr(sp + 1);
  const auto l = v.find(left), r = v.find(right), m = v.find(left + right);
  if (!l || !r || !m)
    throw Error(where + " names a token that is not in the vocabulary: '" +
                (!l   ? left
                 : !r ? right
                      : left + right) +
                "'");
  table.add(*l, *r, *m);
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufMetadata& meta) {
  const std::string& src = meta.source();
  const std::string model = meta.get_string("tokenizer.ggml.model");
  const bool spm = model == "llama";
  if (!spm && model != "gpt2")
    throw Error(src + ": tokenizer.ggml.model '" + model +
                "' is not supported (expected 'llama' for SentencePiece BPE or 'gpt2' for "
                "byte-level BPE)");
  Vocab v;
  v.source = src;
  v.pieces = meta.get_strings("tokenizer.ggml.tokens");
  const size_t n = v.pieces.size();
  const auto same_length = [&](const char* key, size_t got) {
    if (got != n)
      throw Error(src + ": " + key + " has " + std::to_string(got) +
                  " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  };
  if (meta.has("tokenizer.ggml.scores")) {
    const std::vector<double>& s = meta.get_numbers("tokenizer.ggml.scores");
    same_length("tokenizer.ggml.scores", s.size());
    v.scores.assign(s.begin(), s.end());
  }
  if (meta.has("tokenizer.ggml.token_type")) {
    const std::vector<double>& t = meta.get_numbers("tokenizer.ggml.token_type");
    same_length("tokenizer.ggml.token_type", t.size());
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!(t[i] >= 0 && t[i] <= 6) || t[i] != std::floor(t[i]))
        throw Error(src + ": tokenizer.ggml.token_type[" + std::to_string(i) +
                    "] = " + std::to_string(t[i]) + " is not a token type (0..6)");
      v.types.push_back(static_cast<TokenType>(static_cast<int>(t[i])));
    }
  }
  // llama.cpp's defaults when a key is absent: SentencePiece vocabularies have <unk> <s> </s>
  // at 0 1 2 and add BOS; byte-level ones add nothing.
  v.bos = special_id(meta, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n);
  v.eos = special_id(meta, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n);
  v.unk = special_id(meta, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
  v.add_bos = meta.opt_bool("tokenizer.ggml.add_bos_token").value_or(spm) && v.bos >= 0;
  v.finalize();

  if (spm) {
    const bool prefix = meta.opt_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    return std::make_unique<SentencePieceTokenizer>(std::move(v), prefix);
  }
  const std::vector<std::string>& merges = meta.get_strings("tokenizer.ggml.merges");
  MergeTable table;
  table.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) add_merge(v, table, merges[i], i);
  PreTokenizer pre = [&] {
    const std::string name = meta.opt_string("tokenizer.ggml.pre").value_or("default");
    try {
      return PreTokenizer::by_name(name);
    } catch (const Error& e) {
      throw Error(src + ": tokenizer.ggml.pre: " + e.what());
    }
  }();
  return std::make_unique<ByteLevelTokenizer>(std::move(v), std::move(table), std::move(pre));
}

}  // namespace llm
