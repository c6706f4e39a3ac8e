#include "llm/loading/quantize_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "llm/config/error.h"
#include "llm/loading/gguf_writer.h"
#include "llm/loading/model_metadata.h"
#include "llm/quant/quant.h"

namespace llm {
namespace {

double bits_per_weight(DType t) {
  const DTypeLayout& l = dtype_layout(t);
  return 8.0 * static_cast<double>(l.block_bytes) / static_cast<double>(l.block_size);
}

// llama.cpp's LLAMA_FTYPE_MOSTLY_* for general.file_type.
uint32_t file_type(DType target) {
  switch (target) {
    case DType::Q4_0:
      return 2;
    case DType::Q4_1:
      return 3;
    case DType::Q8_0:
      return 7;
    default:
      throw Error("llm quantize targets q8_0, q4_0 or q4_1, not " +
                  std::string(dtype_name(target)));
  }
}

// llama.cpp's order for files it converts: embedding, then layer by layer, then the head.
std::vector<std::string> tensor_order(const Checkpoint& c) {
  std::vector<std::string> names;
  if (c.gguf) {
    for (const GgufTensorInfo& t : c.gguf->tensor_infos()) names.push_back(t.name);
    return names;
  }
  auto add = [&](const std::string& n) {
    if (c.tensors.count(n)) names.push_back(n);
  };
  add("token_embd.weight");
  for (int l = 0; l < c.config.n_layers; ++l)
    for (const char* s : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                          "ffn_gate", "ffn_up", "ffn_down"})
      add("blk." + std::to_string(l) + "." + s + ".weight");
  add("output_norm.weight");
  add("output.weight");
  if (names.size() != c.tensors.size())
    for (const auto& [n, t] : c.tensors)  // anything else, in name order
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  return names;
}

void error_metrics(const Tensor& ref, const Tensor& got, TensorQuantReport& r) {
  const Tensor a = dequantize_tensor(ref), b = dequantize_tensor(got);
  const float* x = a.as<float>();
  const float* y = b.as<float>();
  double num = 0, den = 0;
  const int64_t n = a.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y[i]) - x[i];
    num += d * d;
    den += static_cast<double>(x[i]) * x[i];
  }
  r.nmse = den > 0 ? num / den : num;
  r.rms = n > 0 ? std::sqrt(num / static_cast<double>(n)) : 0;
}

}  // namespace

DType choose_tensor_type(const std::string& name, const Tensor& t, DType target,
                         bool tied_embeddings, std::string* note) {
  file_type(target);  // validates the target
  if (note) note->clear();
  auto say = [&](const std::string& s) {
    if (note) *note += (note->empty() ? "" : "; ") + s;
  };
  // llama.cpp quantizes only matrices whose name ends in "weight", and never norms.
  if (t.shape().ndim < 2 || !name.ends_with("weight") ||
      name.find("_norm.weight") != std::string::npos)
    return t.dtype();
  const int64_t nx = t.cols();
  DType want = target;
  const bool classifier =
      name == "output.weight" || (tied_embeddings && name == "token_embd.weight");
  if (classifier) {
    if (nx % dtype_layout(target).block_size != 0)
      want = DType::Q8_0;
    else if (target != DType::Q8_0)
      want = DType::Q6_K;
    say(std::string(tied_embeddings ? "tied classifier" : "classifier") + " -> " +
        std::string(dtype_name(want)));
  }
  if (nx % dtype_layout(want).block_size != 0) {
    const DType first = want;
    if (want == DType::Q6_K) want = DType::Q8_0;
    if (nx % dtype_layout(want).block_size != 0) want = DType::F16;
    say("rows of " + std::to_string(nx) + " do not fill " + std::string(dtype_name(first)) +
        " blocks: fallback " + std::string(dtype_name(want)));
  }
  // A quantized source is requantized (decoded to f32, then quantized again) as llama-quantize
  // --allow-requantize does, so both tools write the same bytes. More bits cannot restore what
  // the source rounded away: say so.
  if (dtype_layout(t.dtype()).quantized && want != t.dtype())
    say("requantized from " + std::string(dtype_name(t.dtype())) +
        (bits_per_weight(want) > bits_per_weight(t.dtype()) ? " (more bits cannot restore "
                                                              "the source's precision)"
                                                            : ""));
  return want;
}

Tensor permute_rope_rows(const Tensor& w, int n_heads) {
  const int64_t rows = w.rows();
  if (n_heads <= 0 || rows % n_heads != 0 || (rows / n_heads) % 2 != 0)
    throw Error("permute_rope_rows: " + std::to_string(rows) + " rows do not split into " +
                std::to_string(n_heads) + " heads of even size");
  const int64_t hd = rows / n_heads;
  Tensor out = Tensor::zeros(w.dtype(), w.shape());
  auto* dst = static_cast<std::byte*>(out.mutable_data());
  const size_t stride = w.row_stride();
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::memcpy(dst + static_cast<size_t>(h * hd + 2 * i + j) * stride,
                    w.row(h * hd + j * hd / 2 + i), stride);
  return out;
}

QuantizeSummary quantize_model(const Checkpoint& src, DType target, const std::string& out_path,
                               const std::function<void(const TensorQuantReport&)>& on_tensor) {
  const uint32_t ftype = file_type(target);
  QuantizeSummary s;
  GgufWriter w;
  ModelConfig config = src.config;
  const bool half_split = config.rope_layout == RopeLayout::HalfSplit;
  config.rope_layout = RopeLayout::Interleaved;  // after the permutation below
  if (src.gguf) {
    w.copy_metadata(src.gguf->metadata(), [](const std::string& k) {
      return k == "general.alignment" || k == "general.file_type" ||
             k == "general.quantization_version";
    });
    s.has_tokenizer = src.gguf->metadata().has("tokenizer.ggml.model");
    if (!s.has_tokenizer) s.tokenizer_note = "the source GGUF file has no tokenizer";
  } else {
    write_config_metadata(w, config, std::filesystem::path(src.path).stem().string());
    const std::unique_ptr<Tokenizer> tok = load_checkpoint_tokenizer(src);
    if (!tok) {
      s.tokenizer_note = "no tokenizer given (--tokenizer FILE)";
    } else {
      const std::string hf_json = src.tokenizer_path.ends_with(".json") ? src.tokenizer_path : "";
      s.has_tokenizer = write_tokenizer_metadata(w, *tok, hf_json, s.tokenizer_note);
    }
    if (!src.chat_template.empty()) w.set_string("tokenizer.chat_template", src.chat_template);
  }
  w.set_u32("general.file_type", ftype);
  w.set_u32("general.quantization_version", 2);  // ggml's GGML_QNT_VERSION

  for (const std::string& name : tensor_order(src)) {
    Tensor t = src.tensors.at(name);
    if (half_split && name.ends_with(".attn_q.weight")) t = permute_rope_rows(t, config.n_heads);
    if (half_split && name.ends_with(".attn_k.weight")) t = permute_rope_rows(t, config.n_kv_heads);
    TensorQuantReport r;
    r.name = name;
    r.shape = t.shape();
    r.from = t.dtype();
    r.to = choose_tensor_type(name, t, target, config.tied_embeddings, &r.note);
    const Tensor q = r.to == r.from ? t : quantize_tensor(t, r.to);
    if (r.to != r.from) error_metrics(t, q, r);
    r.bytes_in = t.nbytes();
    r.bytes_out = q.nbytes();
    w.add_tensor(name, q);
    ++s.n_tensors;
    s.n_quantized += dtype_layout(r.to).quantized && r.to != r.from;
    s.n_fallback += r.note.find("fallback") != std::string::npos;
    s.bytes_in += r.bytes_in;
    s.bytes_out += r.bytes_out;
    if (on_tensor) on_tensor(r);
  }
  w.write(out_path);
  return s;
}

}  // namespace llm
