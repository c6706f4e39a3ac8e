#include "llm/loading/model_metadata.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/config/error.h"
#include "llm/tokenizer/bpe_tokenizer.h"

namespace llm {
namespace {

// The merge list of a tokenizer.json, as GGUF spells it ("Ġ t"); newer files store pairs.
std::vector<std::string> hf_merges(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() ||
      !j["model"].contains("merges") || !j["model"]["merges"].is_array())
    throw Error(path + ": model.merges is missing");
  for (const auto& m : j["model"]["merges"]) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      throw Error(path + ": model.merges holds an entry that is not a merge");
    }
  }
  return out;
}

// Chapter 2 names the pre-tokenizer of a byte-level tokenizer in describe(): "... pre-tokenizer
// 'smollm' ..." — the same names tokenizer.ggml.pre uses.
std::string pre_tokenizer_name(const Tokenizer& tok) {
  const std::string d = tok.describe();
  const std::string key = "pre-tokenizer '";
  const size_t b = d.find(key);
  if (b == std::string::npos) return "default";
  const size_t e = d.find('\'', b + key.size());
  return e == std::string::npos ? "default" : d.substr(b + key.size(), e - b - key.size());
}

}  // namespace

void write_config_metadata(GgufWriter& w, const ModelConfig& c, const std::string& name) {
  if (c.rope_layout != RopeLayout::Interleaved)
    throw Error("GGUF 'llama' models rotate interleaved RoPE pairs; permute q/k rows first");
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", name);
  w.set_u32("llama.context_length", static_cast<uint32_t>(c.max_seq_len));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(c.dim));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(c.hidden_dim));
  w.set_u32("llama.block_count", static_cast<uint32_t>(c.n_layers));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(c.n_heads));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  w.set_f32("llama.rope.freq_base", c.rope_theta);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  if (c.head_dim * c.n_heads != c.dim)
    w.set_u32("llama.attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.set_u32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));
}

bool write_tokenizer_metadata(GgufWriter& w, const Tokenizer& tok, const std::string& hf_json,
                              std::string& why) {
  const auto* bpe = dynamic_cast<const BpeTokenizer*>(&tok);
  if (!bpe) {
    why = "the tokenizer is not one of chapter 2's BPE tokenizers";
    return false;
  }
  const Vocab& v = bpe->vocab();
  const bool spm = tok.describe().starts_with("sentencepiece");
  std::vector<std::string> merges;
  if (spm && v.scores.size() != v.pieces.size()) {
    why = "a SentencePiece vocabulary without scores (tokenizer.json) has no GGUF form here";
    return false;
  }
  if (!spm) {
    if (hf_json.empty()) {
      why = "a byte-level vocabulary needs its merge list from tokenizer.json";
      return false;
    }
    merges = hf_merges(hf_json);
  }
  w.set_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
  if (!spm) w.set_string("tokenizer.ggml.pre", pre_tokenizer_name(tok));
  w.set_strings("tokenizer.ggml.tokens", v.pieces);
  if (spm) w.set_array("tokenizer.ggml.scores", GgufType::F32, {v.scores.begin(), v.scores.end()});
  std::vector<double> types;
  for (TokenType t : v.types) types.push_back(static_cast<double>(t));
  w.set_array("tokenizer.ggml.token_type", GgufType::I32, std::move(types));
  if (!spm) w.set_strings("tokenizer.ggml.merges", std::move(merges));
  // -1 (none) is written as llama.cpp does: 0xFFFFFFFF in a u32.
  auto id = [](int32_t x) { return x < 0 ? 0xFFFFFFFFu : static_cast<uint32_t>(x); };
  w.set_u32("tokenizer.ggml.bos_token_id", id(v.bos));
  w.set_u32("tokenizer.ggml.eos_token_id", id(v.eos));
  if (v.unk >= 0) w.set_u32("tokenizer.ggml.unknown_token_id", id(v.unk));
  w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  if (spm)
    w.set_bool("tokenizer.ggml.add_space_prefix",
               tok.describe().find("space prefix") != std::string::npos);
  return true;
}

}  // namespace llm
