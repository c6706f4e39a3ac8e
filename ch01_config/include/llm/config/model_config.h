// ModelConfig — the hyper-parameters of a Llama-family model, from the files people have.
//
// Three sources: a llama2.c checkpoint header (seven int32), a Hugging Face config.json, and
// GGUF metadata (`llama.*` keys). Every source is validated the same way (validate()), so a
// later chapter can trust the numbers: head_dim divides, GQA groups divide, sizes are sane.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "llm/config/gguf_metadata.h"

namespace llm {

// How RoPE pairs the dimensions of a head (see docs in chapter 3).
enum class RopeLayout {
  Interleaved,  // (x[2i], x[2i+1]) — llama2.c, GGUF `llama` (llama.cpp's NORM mode)
  HalfSplit,    // (x[i], x[i+hd/2]) — Hugging Face checkpoints (llama.cpp's NEOX mode)
};

struct ModelConfig {
  std::string architecture = "llama";
  int dim = 0;         // residual stream width (d_model)
  int hidden_dim = 0;  // FFN inner width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (GQA: n_heads % n_kv_heads == 0)
  int head_dim = 0;    // usually dim / n_heads
  int vocab_size = 0;
  int max_seq_len = 0;  // context length the model was trained for
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_embeddings = false;  // classifier == token embedding
  RopeLayout rope_layout = RopeLayout::Interleaved;

  int kv_dim() const { return n_kv_heads * head_dim; }
  int q_dim() const { return n_heads * head_dim; }
  // Throws llm::Error (prefixed by `source`) when the numbers are inconsistent.
  void validate(const std::string& source) const;
  std::string summary() const;  // one line for logs and `llm info`

  // llama2.c legacy header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
  // (negative = separate classifier), seq_len.
  static constexpr size_t kLlama2cHeaderBytes = 7 * sizeof(int32_t);
  static ModelConfig from_llama2c_header(std::span<const std::byte> header,
                                         const std::string& source);
  static ModelConfig from_hf_config_json(const std::string& path);
  static ModelConfig from_hf_config_text(const std::string& json_text, const std::string& source);
  static ModelConfig from_gguf(const GgufMetadata& meta);
};

}  // namespace llm
