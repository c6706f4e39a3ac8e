// llm synth — a random-weight GGUF model of a named shape, written with chapter 10's writer.
//
// For benchmarks where the real file cannot go (the GPU machine of chapter 9 reaches nothing
// outside, and its working tree is small): the shape and dtype of a real model, so the bytes
// read per token — what decode speed depends on — are the real ones. The weights are random
// (uniform, small) and there is no tokenizer: run it with --prompt-ids, or in `llm bench`.
// Its outputs are labelled synthetic wherever they are reported.
#include <cmath>
#include <cstdio>
#include <random>

#include "args.h"
#include "llm/config/error.h"
#include "llm/loading/gguf_writer.h"
#include "llm/loading/model_metadata.h"
#include "llm/quant/quant.h"

namespace llm::cli {
namespace {

// The shapes: the default model's, and a 1B-class Llama (Llama 3.2 1B's).
ModelConfig shape(const std::string& name) {
  ModelConfig c;
  c.rope_layout = RopeLayout::Interleaved;
  c.norm_eps = 1e-5f;
  c.tied_embeddings = true;
  if (name == "smollm2-135m") {
    c.dim = 576, c.hidden_dim = 1536, c.n_layers = 30, c.n_heads = 9, c.n_kv_heads = 3;
    c.vocab_size = 49152, c.max_seq_len = 8192, c.rope_theta = 100000.0f;
  } else if (name == "llama-1b") {
    c.dim = 2048, c.hidden_dim = 8192, c.n_layers = 16, c.n_heads = 32, c.n_kv_heads = 8;
    c.vocab_size = 128256, c.max_seq_len = 8192, c.rope_theta = 500000.0f;
  } else {
    throw Error("--shape " + name + ": expected smollm2-135m or llama-1b");
  }
  c.head_dim = c.dim / c.n_heads;
  c.validate("synth");
  return c;
}

int run_synth(Args& args) {
  const std::string shape_name = args.get("--shape");
  const std::string type_name = args.get("--type");
  const std::string out = args.required("--out");
  const uint64_t seed = args.opt_u64("--seed").value_or(1);
  args.finish();
  const ModelConfig c = shape(shape_name);
  std::string lower = type_name;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto type = dtype_from_name(lower);
  if (!type || (*type != DType::F32 && *type != DType::F16 && *type != DType::Q8_0 &&
                *type != DType::Q4_0 && *type != DType::Q4_1))
    throw Error("--type must be f32, f16, q8_0, q4_0 or q4_1, got '" + type_name + "'");

  std::mt19937_64 rng(seed);
  // A matrix of uniform values in [-a, a), a = 1/sqrt(cols) (activations stay of order 1),
  // stored as `type`; vectors (the norms) are ones.
  auto matrix = [&](int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    const float a = 1.0f / std::sqrt(static_cast<float>(cols));
    std::uniform_real_distribution<float> u(-a, a);
    for (float& x : v) x = u(rng);
    const Tensor f = Tensor::from_f32(v, {rows, cols});
    return *type == DType::F32 ? f : quantize_tensor(f, *type);
  };
  auto ones = [](int64_t n) {
    return Tensor::from_f32(std::vector<float>(static_cast<size_t>(n), 1.0f), {n});
  };

  GgufWriter w;
  write_config_metadata(w, c, "synthetic " + shape_name);
  w.set_u32("general.file_type", 0);
  std::vector<Tensor> keep;  // the writer reads the bytes at write()
  auto add = [&](const std::string& name, Tensor t) {
    keep.push_back(std::move(t));
    w.add_tensor(name, keep.back());
  };
  keep.reserve(static_cast<size_t>(3 + 9 * c.n_layers));
  add("token_embd.weight", matrix(c.vocab_size, c.dim));
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", ones(c.dim));
    add(p + "attn_q.weight", matrix(c.q_dim(), c.dim));
    add(p + "attn_k.weight", matrix(c.kv_dim(), c.dim));
    add(p + "attn_v.weight", matrix(c.kv_dim(), c.dim));
    add(p + "attn_output.weight", matrix(c.dim, c.q_dim()));
    add(p + "ffn_norm.weight", ones(c.dim));
    add(p + "ffn_gate.weight", matrix(c.hidden_dim, c.dim));
    add(p + "ffn_up.weight", matrix(c.hidden_dim, c.dim));
    add(p + "ffn_down.weight", matrix(c.dim, c.hidden_dim));
    std::fprintf(stderr, "\rsynth: layer %d/%d", l + 1, c.n_layers);
  }
  add("output_norm.weight", ones(c.dim));
  std::fprintf(stderr, "\n");
  w.write(out);
  std::printf("wrote %s: synthetic %s, %s, random weights, no tokenizer\n", out.c_str(),
              shape_name.c_str(), std::string(dtype_name(*type)).c_str());
  return 0;
}

const Option kOptions[] = {
    {"--shape", "NAME", "smollm2-135m (the default model's) or llama-1b", "smollm2-135m"},
    {"--type", "TYPE", "weights: f32, f16, q8_0, q4_0 or q4_1", "q4_1"},
    {"-o|--out", "FILE.gguf", "where to write it", ""},
    {"-s|--seed", "N", "the random weights' seed", "1"},
};

}  // namespace

extern const Command kSynth{"synth",
                            "a random-weight GGUF of a real model's shape, for benchmarks "
                            "(synthetic: no tokenizer)",
                            "-o FILE.gguf [--shape NAME] [--type TYPE]", kOptions, &run_synth};

}  // namespace llm::cli
