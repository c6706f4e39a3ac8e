#include "llm/config/model_config.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/config/byte_reader.h"

namespace llm {

void ModelConfig::validate(const std::string& source) const {
  auto bad = [&](const std::string& what) { throw Error(source + ": invalid config: " + what); };
  auto positive = [&](int v, const char* name, int limit) {
    if (v <= 0 || v > limit)
      bad(std::string(name) + " = " + std::to_string(v) + ", expected 1.." + std::to_string(limit));
  };
  positive(dim, "dim", 1 << 16);
  positive(hidden_dim, "hidden_dim", 1 << 18);
  positive(n_layers, "n_layers", 1024);
  positive(n_heads, "n_heads", 1024);
  positive(n_kv_heads, "n_kv_heads", 1024);
  positive(head_dim, "head_dim", 1024);
  positive(vocab_size, "vocab_size", 1 << 22);
  positive(max_seq_len, "max_seq_len", 1 << 24);
  if (n_heads % n_kv_heads != 0)
    bad("n_heads (" + std::to_string(n_heads) + ") is not a multiple of n_kv_heads (" +
        std::to_string(n_kv_heads) + ")");
  if (head_dim % 2 != 0) bad("head_dim must be even for RoPE, got " + std::to_string(head_dim));
  if (!(rope_theta > 0.0f)) bad("rope_theta must be positive");
  if (!(norm_eps > 0.0f) || norm_eps > 1.0f) bad("norm_eps must be in (0, 1]");
}

std::string ModelConfig::summary() const {
  std::ostringstream s;
  s << architecture << ": dim " << dim << ", hidden " << hidden_dim << ", layers " << n_layers
    << ", heads " << n_heads << "/" << n_kv_heads << " (head_dim " << head_dim << "), vocab "
    << vocab_size << ", ctx " << max_seq_len << ", rope theta " << rope_theta << " ("
    << (rope_layout == RopeLayout::Interleaved ? "interleaved" : "half-split") << "), eps "
    << norm_eps << (tied_embeddings ? ", tied embeddings" : "");
  return s.str();
}

ModelConfig ModelConfig::from_llama2c_header(std::span<const std::byte> header,
                                             const std::string& source) {
  ByteReader r(header, source);
  ModelConfig c;
  c.dim = r.read<int32_t>("header.dim");
  c.hidden_dim = r.read<int32_t>("header.hidden_dim");
  c.n_layers = r.read<int32_t>("header.n_layers");
  c.n_heads = r.read<int32_t>("header.n_heads");
  c.n_kv_heads = r.read<int32_t>("header.n_kv_heads");
  const int32_t vocab = r.read<int32_t>("header.vocab_size");
  c.max_seq_len = r.read<int32_t>("header.seq_len");
  // llama2.c: a negative vocab_size means the classifier is stored separately.
  if (vocab == INT32_MIN) throw Error(source + ": header.vocab_size is out of range");
  c.tied_embeddings = vocab > 0;
  c.vocab_size = vocab > 0 ? vocab : -vocab;
  if (c.n_heads <= 0 || c.dim % c.n_heads != 0)
    throw Error(source + ": header.dim (" + std::to_string(c.dim) +
                ") is not a multiple of header.n_heads (" + std::to_string(c.n_heads) + ")");
  c.head_dim = c.dim / c.n_heads;
  c.rope_theta = 10000.0f;  // hard-wired in llama2.c
  c.norm_eps = 1e-5f;
  c.rope_layout = RopeLayout::Interleaved;
  c.validate(source);
  return c;
}

ModelConfig ModelConfig::from_hf_config_text(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  auto get_int = [&](const char* key, std::optional<int> fallback = std::nullopt) -> int {
    if (!j.contains(key) || j[key].is_null()) {
      if (fallback) return *fallback;
      throw Error(source + ": field '" + key + "' is missing");
    }
    if (!j[key].is_number_integer())
      throw Error(source + ": field '" + key + "' must be an integer");
    const auto v = j[key].get<int64_t>();
    if (v < INT32_MIN || v > INT32_MAX)
      throw Error(source + ": field '" + key + "' is out of range");
    return static_cast<int>(v);
  };
  auto get_float = [&](const char* key, float fallback) -> float {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) throw Error(source + ": field '" + key + "' must be a number");
    return j[key].get<float>();
  };
  ModelConfig c;
  if (j.contains("model_type") && j["model_type"].is_string())
    c.architecture = j["model_type"].get<std::string>();
  if (c.architecture != "llama" && c.architecture != "mistral")
    throw Error(source + ": model_type '" + c.architecture + "' is not supported (llama)");
  c.architecture = "llama";
  c.dim = get_int("hidden_size");
  c.hidden_dim = get_int("intermediate_size");
  c.n_layers = get_int("num_hidden_layers");
  c.n_heads = get_int("num_attention_heads");
  c.n_kv_heads = get_int("num_key_value_heads", c.n_heads);
  c.head_dim = get_int("head_dim", c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.vocab_size = get_int("vocab_size");
  c.max_seq_len = get_int("max_position_embeddings", 2048);
  c.rope_theta = get_float("rope_theta", 10000.0f);
  c.norm_eps = get_float("rms_norm_eps", 1e-6f);
  c.tied_embeddings = j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean()
                          ? j["tie_word_embeddings"].get<bool>()
                          : false;
  c.rope_layout = RopeLayout::HalfSplit;  // HF checkpoints rotate half-split pairs
  c.validate(source);
  return c;
}

ModelConfig ModelConfig::from_hf_config_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_hf_config_text(ss.str(), path);
}

ModelConfig ModelConfig::from_gguf(const GgufMetadata& m) {
  ModelConfig c;
  c.architecture = m.get_string("general.architecture");
  if (c.architecture != "llama")
    throw Error(m.source() + ": general.architecture is '" + c.architecture +
                "', only 'llama' is supported");
  const std::string a = c.architecture + ".";
  auto geti = [&](const std::string& key) -> int {
    const int64_t v = m.get_int(key);
    if (v < 0 || v > INT32_MAX)
      throw Error(m.source() + ": " + key + " = " + std::to_string(v) + " is out of range");
    return static_cast<int>(v);
  };
  c.dim = geti(a + "embedding_length");
  c.hidden_dim = geti(a + "feed_forward_length");
  c.n_layers = geti(a + "block_count");
  c.n_heads = geti(a + "attention.head_count");
  c.n_kv_heads =
      m.has(a + "attention.head_count_kv") ? geti(a + "attention.head_count_kv") : c.n_heads;
  c.head_dim = c.n_heads > 0 ? c.dim / c.n_heads : 0;
  if (m.has(a + "attention.key_length")) c.head_dim = geti(a + "attention.key_length");
  if (m.has(a + "rope.dimension_count") && geti(a + "rope.dimension_count") != c.head_dim)
    throw Error(m.source() + ": partial RoPE (" + a +
                "rope.dimension_count != head_dim) is not supported");
  c.max_seq_len = geti(a + "context_length");
  c.rope_theta = static_cast<float>(m.opt_float(a + "rope.freq_base").value_or(10000.0));
  c.norm_eps =
      static_cast<float>(m.opt_float(a + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  if (m.has(a + "vocab_size")) {
    c.vocab_size = geti(a + "vocab_size");
  } else if (const GgufValue* toks = m.find("tokenizer.ggml.tokens"); toks && toks->is_array()) {
    c.vocab_size = static_cast<int>(toks->array_size());
  } else {
    throw Error(m.source() + ": neither " + a +
                "vocab_size nor tokenizer.ggml.tokens gives the vocabulary size");
  }
  c.tied_embeddings = false;  // known only from the tensor list: chapter 10 sets it
  c.rope_layout = RopeLayout::Interleaved;
  c.validate(m.source());
  return c;
}

}  // namespace llm
