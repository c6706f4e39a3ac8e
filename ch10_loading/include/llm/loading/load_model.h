// load_model — any model file people have, to a Model plus its tokenizer and chat template.
//
// One entry point for every format, dispatched by content (then extension):
//   GGUF           config from the metadata, tensors as named, tokenizer and chat template
//                  from the same file; no `output.weight` means the classifier is tied;
//   safetensors    a file, a shard index or a directory, with config.json, tokenizer.json and
//                  tokenizer_config.json (chat template) beside it;
//   llama2.c .bin  chapter 4's loader; the tokenizer comes from `tokenizer_path` (tok512.bin).
// Every format ends in Model::from_tensors with llama.cpp's names, so the forward pass never
// knows where its weights came from. Weights stay in the memory-mapped files.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm/config/model_config.h"
#include "llm/loading/chat_template.h"
#include "llm/loading/gguf_file.h"
#include "llm/tokenizer/tokenizer.h"
#include "llm/transformer/model.h"

namespace llm {

enum class ModelFormat { Gguf, Safetensors, Llama2c };
const char* model_format_name(ModelFormat f);  // "gguf", "safetensors", "llama2.c"
// GGUF magic first; then a directory, `.safetensors` / `.json`, or a header that parses as a
// safetensors length + '{'; then a plausible llama2.c header (whose loader checks the size it
// implies). Anything else throws llm::Error naming the file, the formats tried and what the
// file looks like (empty, a git-lfs pointer, an HTML page).
ModelFormat detect_model_format(const std::string& path);

// A model file opened but not yet built into a Model: what `llm info` and `llm quantize` read.
struct Checkpoint {
  ModelFormat format = ModelFormat::Gguf;
  std::string path;
  ModelConfig config;            // tied_embeddings set from the tensor list
  TensorMap tensors;             // llama.cpp names, borrowing the mapped file(s)
  std::optional<GgufFile> gguf;  // GGUF sources: the file, for its metadata
  std::string tokenizer_path;    // a separate tokenizer file (tokenizer.json, tok512.bin), or ""
  std::string chat_template;     // "" when the model has none
  std::string bos_token, eos_token;  // template variables from tokenizer_config.json, or ""
};
Checkpoint open_checkpoint(const std::string& path, const std::string& tokenizer_path = "");

// The checkpoint's tokenizer: `tokenizer_path` when given, else the one inside the GGUF file
// or beside the safetensors; null when there is none. Throws llm::Error when the tokenizer has
// more tokens than the model's vocabulary (ids would index past the embedding).
std::unique_ptr<Tokenizer> load_checkpoint_tokenizer(const Checkpoint& c);

struct LoadedModel {
  ModelFormat format = ModelFormat::Gguf;
  std::string path;
  std::shared_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when there is none (ids-only generation)
  std::string chat_template;             // "" when the model has none
  std::string bos_token, eos_token;      // for the chat template
};

LoadedModel load_model(const std::string& path, const std::string& tokenizer_path = "");

// Renders `messages` with the model's chat template (llm::Error when it has none).
std::string render_chat(const LoadedModel& m, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);

// A built model's weights back under llama.cpp's names (no `output.weight` when tied): how
// llama2.c checkpoints, which chapter 4 loads straight into a Model, reach `llm quantize`.
TensorMap model_tensors(const Model& m);

}  // namespace llm
