// quantize_model — a checkpoint in any format to a quantized GGUF file (`llm quantize`).
//
// Which type each tensor gets follows llama.cpp's llama-quantize for q8_0, q4_0 and q4_1
// targets (llama_tensor_get_type): 1-D tensors and norms keep their type; the classifier —
// `output.weight`, or `token_embd.weight` when it is tied to it — gets q6_k (q8_0 for a q8_0
// target), falling back to q8_0 when its rows are not a multiple of 256; every other matrix gets
// the target. Where llama.cpp would stop ("Unsupported tensor size": rows not a multiple of the
// 32-value block), this falls back to f16, like llama.cpp's own last-resort fallback. A
// quantized tensor whose type is already the one chosen is copied; any other is requantized
// (decoded to f32, quantized again), as `llama-quantize --allow-requantize` does, so the two
// tools write the same blocks (tests/ch10_loading/requantize_test.cpp checks every tensor).
// Hugging Face sources rotate half-split RoPE pairs; GGUF `llama` rotates adjacent ones, so the
// rows of attn_q and attn_k are permuted on the way, as llama.cpp's converter does.
#pragma once

#include <functional>
#include <string>

#include "llm/config/tensor.h"
#include "llm/loading/load_model.h"

namespace llm {

// The type a tensor gets in a file quantized to `target` (Q8_0, Q4_0 or Q4_1); `note` says why
// when it is not simply `target`.
DType choose_tensor_type(const std::string& name, const Tensor& t, DType target,
                         bool tied_embeddings, std::string* note = nullptr);

// Rows of a [n_heads·head_dim, dim] q or k matrix from half-split RoPE order to interleaved:
// new row h·hd + 2i + j = old row h·hd + j·hd/2 + i (llama.cpp's convert_hf_to_gguf permute).
Tensor permute_rope_rows(const Tensor& w, int n_heads);

struct TensorQuantReport {
  std::string name;
  Shape shape;
  DType from = DType::F32, to = DType::F32;
  size_t bytes_in = 0, bytes_out = 0;
  double nmse = 0;   // sum((q - x)²) / sum(x²) over the dequantized values
  double rms = 0;    // sqrt(mean((q - x)²))
  std::string note;  // fallback or kept-as-is reasons
};

struct QuantizeSummary {
  int n_tensors = 0, n_quantized = 0, n_fallback = 0;
  size_t bytes_in = 0, bytes_out = 0;
  bool has_tokenizer = false;
  std::string tokenizer_note;  // why the output has no tokenizer, when it has none
};

// Quantizes `src` to `target` and writes `out_path` (GGUF v3) with the metadata that makes it a
// complete model (config, tokenizer, chat template). `on_tensor` sees each tensor as it is done.
QuantizeSummary quantize_model(const Checkpoint& src, DType target, const std::string& out_path,
                               const std::function<void(const TensorQuantReport&)>& on_tensor = {});

}  // namespace llm
