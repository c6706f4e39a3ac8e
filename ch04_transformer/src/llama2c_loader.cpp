// llama2.c checkpoints (the "legacy" format): a 7-int32 header, then f32 arrays in a fixed
// order (see docs/formats.md). Each array becomes a tensor borrowed from the mapping, named as
// llama.cpp names it, so the model is built by the same Model::from_tensors as a GGUF file.
#include <string>

#include "llm/config/error.h"
#include "llm/config/mapped_file.h"
#include "llm/transformer/model.h"

namespace llm {

Model load_llama2c(const std::string& path) {
  const auto file = MappedFile::open(path);
  if (file->size() < ModelConfig::kLlama2cHeaderBytes)
    throw Error(path + ": " + std::to_string(file->size()) +
                " bytes is too short for a llama2.c header (28 bytes)");
  ModelConfig c =
      ModelConfig::from_llama2c_header(file->bytes().first(ModelConfig::kLlama2cHeaderBytes), path);
  const bool shared = c.tied_embeddings;

  // Walk the arrays in file order; sizes in floats. Everything is validated against the file
  // size before a single tensor is made.
  const uint64_t L = static_cast<uint64_t>(c.n_layers), dim = static_cast<uint64_t>(c.dim),
                 hidden = static_cast<uint64_t>(c.hidden_dim),
                 vocab = static_cast<uint64_t>(c.vocab_size),
                 kv = static_cast<uint64_t>(c.kv_dim()), hs = static_cast<uint64_t>(c.head_dim),
                 seq = static_cast<uint64_t>(c.max_seq_len);
  struct Array {
    const char* name;  // per-layer arrays use "blk.%d.<name>"
    uint64_t rows, cols;
    bool per_layer;
  };
  const Array arrays[] = {
      {"token_embd.weight", vocab, dim, false}, {"attn_norm.weight", 1, dim, true},
      {"attn_q.weight", dim, dim, true},        {"attn_k.weight", kv, dim, true},
      {"attn_v.weight", kv, dim, true},         {"attn_output.weight", dim, dim, true},
      {"ffn_norm.weight", 1, dim, true},        {"ffn_gate.weight", hidden, dim, true},
      {"ffn_down.weight", dim, hidden, true},   {"ffn_up.weight", hidden, dim, true},
      {"output_norm.weight", 1, dim, false},    {"(rope tables)", 2 * seq, hs / 2, false},
      {"output.weight", vocab, dim, false},
  };
  uint64_t floats = 0;
  for (const Array& a : arrays) {
    if (!shared || std::string(a.name) != "output.weight")
      floats += a.rows * a.cols * (a.per_layer ? L : 1);
  }
  const uint64_t expected = ModelConfig::kLlama2cHeaderBytes + floats * sizeof(float);
  if (expected != file->size())
    throw Error(
        path + ": the header implies " + std::to_string(expected) + " bytes (" + c.summary() +
        ") but the file has " + std::to_string(file->size()) +
        (file->size() < expected ? " (truncated?)" : " (not a legacy llama2.c checkpoint?)"));

  std::shared_ptr<const void> owner(file, file->data());
  TensorMap tensors;
  const auto* base =
      reinterpret_cast<const float*>(file->data() + ModelConfig::kLlama2cHeaderBytes);
  uint64_t at = 0;  // float offset
  for (const Array& a : arrays) {
    const std::string name = a.name;
    if (name == "output.weight" && shared) continue;
    for (uint64_t l = 0; l < (a.per_layer ? L : 1); ++l) {
      if (name != "(rope tables)") {
        const std::string full = a.per_layer ? "blk." + std::to_string(l) + "." + name : name;
        const Shape shape = a.rows == 1
                                ? Shape{static_cast<int64_t>(a.cols)}
                                : Shape{static_cast<int64_t>(a.rows), static_cast<int64_t>(a.cols)};
        tensors[full] = Tensor::borrow(base + at, DType::F32, shape, owner);
      }
      at += a.rows * a.cols;
    }
  }
  return Model::from_tensors(c, tensors, path);
}

}  // namespace llm
