// Random Llama weights under llama.cpp's tensor names, for tests that need a model small enough
// to check exhaustively (chapter 4's forward pass, chapter 10's file formats). Seeded: the same
// config and seed give the same tensors.
#pragma once

#include <cstdint>

#include "llm/config/model_config.h"
#include "llm/transformer/model.h"

namespace llm::testing {

struct WeightScales {
  float vectors = 0.5f;   // token_embd (and output) rows, norms: uniform in [-s, s)
  float matrices = 0.5f;  // the projection matrices
};

// A small GQA config for exhaustive tests: dim 48, hidden 96, 2 layers, 6 heads / 2 KV heads
// of 8, vocabulary 67, context 64.
ModelConfig tiny_llama_config();

// Every tensor the forward pass reads, f32, uniform random; no output.weight when
// c.tied_embeddings. Tensor i uses seed + i, in the order token_embd, then per layer attn_norm,
// attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down, then output_norm
// and output.
TensorMap random_llama_weights(const ModelConfig& c, uint64_t seed, WeightScales scales = {});

}  // namespace llm::testing
