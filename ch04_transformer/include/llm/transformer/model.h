// Model — a configuration plus the weights of a Llama-family transformer.
//
// A model is built from a config and a name → tensor map, with llama.cpp's tensor names
// (token_embd.weight, blk.N.attn_q.weight, ..., output_norm.weight, output.weight). Every
// source converts to this one form: this chapter reads llama2.c checkpoints; chapter 10 adds
// GGUF (names as they are) and safetensors (Hugging Face names mapped). Tensors borrow from
// the memory-mapped file, so building a model copies no weights.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "llm/config/model_config.h"
#include "llm/config/tensor.h"

namespace llm {

using TensorMap = std::map<std::string, Tensor>;

struct LayerWeights {
  Tensor attn_norm;  // [dim] f32
  Tensor wq;         // [n_heads*head_dim][dim]
  Tensor wk;         // [n_kv_heads*head_dim][dim]
  Tensor wv;         // [n_kv_heads*head_dim][dim]
  Tensor wo;         // [dim][n_heads*head_dim]
  Tensor ffn_norm;   // [dim] f32
  Tensor w_gate;     // [hidden][dim]  (w1)
  Tensor w_up;       // [hidden][dim]  (w3)
  Tensor w_down;     // [dim][hidden]  (w2)
};

struct Model {
  ModelConfig config;
  Tensor token_embd;  // [vocab][dim]
  std::vector<LayerWeights> layers;
  Tensor output_norm;  // [dim] f32
  Tensor output;       // [vocab][dim]; the same tensor as token_embd when tied

  // Checks every tensor's presence and shape against the config (errors name the tensor and
  // both shapes); norms in f16/bf16 are converted to f32. `source` prefixes error messages.
  // When `output.weight` is absent the classifier is tied to the embedding.
  static Model from_tensors(ModelConfig config, const TensorMap& tensors,
                            const std::string& source);
  size_t weight_bytes() const;  // bytes of weights read per token (for GB/s figures)
};

// Loads a llama2.c checkpoint (legacy format), memory-mapped: the file size must equal what
// the header implies; negative vocab_size means a separate classifier.
Model load_llama2c(const std::string& path);

}  // namespace llm
