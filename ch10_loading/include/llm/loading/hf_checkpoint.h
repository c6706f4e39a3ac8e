// HfCheckpoint — a Hugging Face Llama checkpoint: safetensors weights (one file, or shards
// listed by `model.safetensors.index.json`), `config.json`, and `tokenizer.json` beside them.
//
// Hugging Face names (model.layers.3.self_attn.q_proj.weight) are mapped to llama.cpp's
// (blk.3.attn_q.weight), the one form Model::from_tensors takes. The weights are used as they
// are: Hugging Face Llama rotates half-split RoPE pairs, and ModelConfig::from_hf_config_json
// says so (rope_layout = HalfSplit), so the forward pass rotates the same pairs the checkpoint
// was trained with — no permutation of wq/wk rows as llama.cpp's converter does.
#pragma once

#include <string>

#include "llm/config/model_config.h"
#include "llm/transformer/model.h"

namespace llm {

struct HfCheckpoint {
  std::string dir;                   // the directory holding the files
  ModelConfig config;                // from config.json
  TensorMap tensors;                 // llama.cpp names, borrowing the mapped shards
  std::string tokenizer_json;        // path of tokenizer.json, or "" when absent
  std::string chat_template;         // tokenizer_config.json's chat_template, or ""
  std::string bos_token, eos_token;  // tokenizer_config.json's, or ""
};

// `path` is a directory, a `.safetensors` file or a `.safetensors.index.json`.
HfCheckpoint open_hf_checkpoint(const std::string& path);

// Every tensor of one safetensors file or of all shards of an index, under Hugging Face names.
// Shard file names in the index must be plain names in the index's directory.
TensorMap load_safetensors_tensors(const std::string& path);

// Hugging Face -> llama.cpp tensor name. Returns "" for tensors a Llama forward pass does not
// use (rotary_emb.inv_freq, which some exports include); throws llm::Error naming the tensor
// for any other unknown name, so a checkpoint with weights we would silently ignore (biases,
// another architecture) is refused rather than run wrongly.
std::string hf_to_gguf_name(const std::string& hf_name, const std::string& source);
TensorMap map_hf_names(const TensorMap& hf, const std::string& source);

}  // namespace llm
