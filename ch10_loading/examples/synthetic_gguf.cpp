// ch10_synthetic_gguf — a Llama GGUF of any size with random Q4_0 weights, for benchmarks.
//
//   ch10_synthetic_gguf --vocab-from MODEL.gguf --out FILE.gguf [--dim 2048] [--hidden 5632]
//                       [--layers 22] [--heads 32] [--kv-heads 4] [--ctx 2048]
//
// The defaults make a TinyLlama-1.1B-shaped model (1.1 billion parameters, ~620 MB in Q4_0):
// larger than the biggest L3 cache of these machines, so decoding streams from DRAM. The
// tokenizer (and the vocabulary size) come from an existing GGUF, so llama.cpp loads the file
// too and both engines can be timed on it. The weights are random: the text is nonsense, the
// speed is real. general.name says "synthetic".
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "llm/config/dtype.h"
#include "llm/loading/gguf_file.h"
#include "llm/loading/gguf_writer.h"
#include "llm/quant/blocks.h"

namespace {

// A [rows][cols] Q4_0 tensor of random nibbles whose scale keeps x·wᵀ of unit-RMS rows near
// unit RMS (so the activations neither vanish nor overflow through the layers).
llm::Tensor random_q4_0(int64_t rows, int64_t cols, uint64_t seed) {
  llm::Tensor t = llm::Tensor::zeros(llm::DType::Q4_0, {rows, cols});
  auto* b = t.mutable_as<llm::block_q4_0>();
  const int64_t n = rows * cols / llm::kQK;
  std::mt19937_64 rng(seed);
  const uint16_t d = llm::f32_to_f16(0.35f / std::sqrt(static_cast<float>(cols)));
  for (int64_t i = 0; i < n; ++i) {
    b[i].d = d;
    for (int j = 0; j < llm::kQK / 2; j += 8) {
      const uint64_t r = rng();
      std::memcpy(b[i].qs + j, &r, 8);
    }
  }
  return t;
}

llm::Tensor ones(int64_t n) {
  llm::Tensor t = llm::Tensor::zeros(llm::DType::F32, {n});
  for (int64_t i = 0; i < n; ++i) t.mutable_as<float>()[i] = 1.0f;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_from, out;
  long dim = 2048, hidden = 5632, layers = 22, heads = 32, kv_heads = 4, ctx = 2048;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--vocab-from")
      vocab_from = v;
    else if (k == "--out")
      out = v;
    else if (k == "--dim")
      dim = std::atol(v);
    else if (k == "--hidden")
      hidden = std::atol(v);
    else if (k == "--layers")
      layers = std::atol(v);
    else if (k == "--heads")
      heads = std::atol(v);
    else if (k == "--kv-heads")
      kv_heads = std::atol(v);
    else if (k == "--ctx")
      ctx = std::atol(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (vocab_from.empty() || out.empty() || dim % 32 || hidden % 32 || heads <= 0 || kv_heads <= 0 ||
      heads % kv_heads || dim % heads || layers <= 0) {
    std::fprintf(stderr,
                 "usage: ch10_synthetic_gguf --vocab-from MODEL.gguf --out FILE.gguf [--dim N] "
                 "[--hidden N] [--layers N] [--heads N] [--kv-heads N] [--ctx N]\n"
                 "(dim and hidden multiples of 32, heads a multiple of kv-heads)\n");
    return 2;
  }
  try {
    const llm::GgufFile src = llm::GgufFile::open(vocab_from);
    llm::GgufWriter w;
    w.copy_metadata(src.metadata(), [](const std::string& k) {
      return !k.starts_with("tokenizer.") || k == "tokenizer.chat_template";
    });
    const auto vocab =
        static_cast<int64_t>(src.metadata().find("tokenizer.ggml.tokens")->array_size());
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "synthetic random Q4_0 Llama (benchmark only)");
    w.set_u32("general.file_type", 2);  // LLAMA_FTYPE_MOSTLY_Q4_0
    w.set_u32("general.quantization_version", 2);
    w.set_u32("llama.context_length", static_cast<uint32_t>(ctx));
    w.set_u32("llama.embedding_length", static_cast<uint32_t>(dim));
    w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(hidden));
    w.set_u32("llama.block_count", static_cast<uint32_t>(layers));
    w.set_u32("llama.attention.head_count", static_cast<uint32_t>(heads));
    w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(kv_heads));
    w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(dim / heads));
    w.set_f32("llama.rope.freq_base", 10000.0f);
    w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_u32("llama.vocab_size", static_cast<uint32_t>(vocab));
    const int64_t kv_dim = dim / heads * kv_heads;
    uint64_t seed = 1;
    int64_t params = 0;
    auto add = [&](const std::string& name, const llm::Tensor& t) {
      params += t.numel();
      w.add_tensor(name, t);
    };
    add("token_embd.weight", random_q4_0(vocab, dim, seed++));
    for (long l = 0; l < layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      add(p + "attn_norm.weight", ones(dim));
      add(p + "attn_q.weight", random_q4_0(dim, dim, seed++));
      add(p + "attn_k.weight", random_q4_0(kv_dim, dim, seed++));
      add(p + "attn_v.weight", random_q4_0(kv_dim, dim, seed++));
      add(p + "attn_output.weight", random_q4_0(dim, dim, seed++));
      add(p + "ffn_norm.weight", ones(dim));
      add(p + "ffn_gate.weight", random_q4_0(hidden, dim, seed++));
      add(p + "ffn_up.weight", random_q4_0(hidden, dim, seed++));
      add(p + "ffn_down.weight", random_q4_0(dim, hidden, seed++));
    }
    add("output_norm.weight", ones(dim));
    add("output.weight", random_q4_0(vocab, dim, seed++));
    w.write(out);
    std::printf("%s: %.2f billion parameters (synthetic, random Q4_0)\n", out.c_str(),
                static_cast<double>(params) / 1e9);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ch10_synthetic_gguf: %s\n", e.what());
    return 1;
  }
  return 0;
}
