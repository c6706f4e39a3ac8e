// fuzz_make_seeds OUT_DIR [chat_templates.json] — writes seed corpora for the fuzz targets:
// small valid GGUF files (every weight dtype, SentencePiece and byte-level tokenizers, a chat
// template, every metadata type, another alignment), safetensors files (F32, F16, BF16) and,
// given the test data file, the chat templates of the tests.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "llm/config/error.h"
#include "llm/loading/gguf_writer.h"
#include "llm/loading/model_metadata.h"
#include "llm/loading/safetensors.h"
#include "llm/quant/quant.h"

namespace fs = std::filesystem;
using namespace llm;

namespace {

ModelConfig seed_config() {  // the same numbers as fuzz_safetensors.cpp's
  ModelConfig c;
  c.dim = 32, c.hidden_dim = 64, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
  c.vocab_size = 16, c.max_seq_len = 16;
  return c;
}

std::map<std::string, Tensor> weights(const ModelConfig& c, DType matrices, bool tied) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1, 1);
  std::map<std::string, Tensor> t;
  auto add = [&](const std::string& n, Shape s) {
    std::vector<float> v(static_cast<size_t>(s.numel()));
    for (float& x : v) x = u(rng);
    Tensor f = Tensor::from_f32(v, s);
    t[n] = s.ndim == 2 ? quantize_tensor(f, matrices) : f;
  };
  add("token_embd.weight", {c.vocab_size, c.dim});
  for (const char* n : {"attn_norm", "ffn_norm"})
    add(std::string("blk.0.") + n + ".weight", {c.dim});
  add("blk.0.attn_q.weight", {c.q_dim(), c.dim});
  add("blk.0.attn_k.weight", {c.kv_dim(), c.dim});
  add("blk.0.attn_v.weight", {c.kv_dim(), c.dim});
  add("blk.0.attn_output.weight", {c.dim, c.q_dim()});
  add("blk.0.ffn_gate.weight", {c.hidden_dim, c.dim});
  add("blk.0.ffn_up.weight", {c.hidden_dim, c.dim});
  add("blk.0.ffn_down.weight", {c.dim, c.hidden_dim});
  add("output_norm.weight", {c.dim});
  if (!tied) add("output.weight", {c.vocab_size, c.dim});
  return t;
}

void spm_tokenizer(GgufWriter& w) {
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "c",
                                          "\xe2\x96\x81"
                                          "a",
                                          "ab", "bc", "abc", "<0x41>", "H", "e", "l", "o"});
  w.set_array("tokenizer.ggml.scores", GgufType::F32,
              {0, 0, 0, -1, -2, -3, -4, -5, -6, -7, -8, 0, -9, -10, -11, -12});
  w.set_array("tokenizer.ggml.token_type", GgufType::I32,
              {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, 1, 1, 1, 1});
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_string("tokenizer.chat_template",
               "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ 'sys\\n' }}"
               "{% endif %}{{ '<|' + m.role + '|>' + m['content'] | trim + eos_token }}{% endfor %}"
               "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}");
}

void bpe_tokenizer(GgufWriter& w) {
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "smollm");
  w.set_strings("tokenizer.ggml.tokens", {"<|endoftext|>", "a", "b", "c", "\xc4\xa0", "ab",
                                          "\xc4\xa0"
                                          "a",
                                          "abc", "H", "e", "l", "o", "1", "2", "3", "!"});
  w.set_strings("tokenizer.ggml.merges", {"a b", "\xc4\xa0 a", "ab c"});
  w.set_array("tokenizer.ggml.token_type", GgufType::I32,
              {3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  w.set_u32("tokenizer.ggml.eos_token_id", 0);
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string safetensors(const std::map<std::string, Tensor>& gguf_named, DType dt) {
  static const std::map<std::string, std::string> hf = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
      {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
      {"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"},
      {"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight"},
      {"blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight"},
      {"blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight"},
      {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"},
      {"blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight"},
      {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const auto& [n, t] : gguf_named) {
    const Tensor x = quantize_tensor(t, dt);
    std::vector<int64_t> shape(x.shape().dims.begin(), x.shape().dims.begin() + x.shape().ndim);
    header[hf.at(n)] = {{"dtype", safetensors_dtype_name(dt)},
                        {"shape", shape},
                        {"data_offsets", {data.size(), data.size() + x.nbytes()}}};
    data.append(static_cast<const char*>(x.data()), x.nbytes());
  }
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [chat_templates.json]\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* d : {"gguf", "safetensors", "chat_template"}) fs::create_directories(out / d);
  try {
    const ModelConfig c = seed_config();
    int n = 0;
    for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
      for (int variant = 0; variant < 2; ++variant) {
        GgufWriter w(variant == 1 && dt == DType::F32 ? 64 : 32);
        write_config_metadata(w, c, "seed");
        if (variant == 0) spm_tokenizer(w);
        if (variant == 1) bpe_tokenizer(w);
        for (const auto& [name, t] : weights(c, dt, variant == 1)) w.add_tensor(name, t);
        write(out / "gguf" / ("model-" + std::to_string(n++) + ".gguf"), w.to_string());
      }
    }
    GgufWriter meta;  // every metadata type, no tensors
    meta.set_u32("u32", 7);
    meta.set_i32("i32", -7);
    meta.set_u64("u64", 1ull << 40);
    meta.set_f32("f32", 0.5f);
    meta.set_bool("b", true);
    meta.set_string("s", "text");
    meta.set_strings("ss", {"x", "yy", ""});
    meta.set_array("i8", GgufType::I8, {-1, 1});
    meta.set_array("u16", GgufType::U16, {1, 2});
    meta.set_array("i64", GgufType::I64, {-5});
    meta.set_array("f64", GgufType::F64, {0.25});
    GgufValue nested;
    nested.type = GgufType::ARRAY;
    nested.elem_type = GgufType::ARRAY;
    GgufValue inner;
    inner.type = GgufType::ARRAY;
    inner.elem_type = GgufType::U8;
    inner.numbers = {1, 2, 3};
    nested.nested = {inner};
    meta.set("nested", nested);
    write(out / "gguf" / "metadata.gguf", meta.to_string());

    int s = 0;
    for (DType dt : {DType::F32, DType::F16, DType::BF16})
      for (bool tied : {false, true})
        write(out / "safetensors" / ("model-" + std::to_string(s++) + ".safetensors"),
              safetensors(weights(c, DType::F32, tied), dt));

    if (argc > 2) {
      std::ifstream in(argv[2]);
      std::stringstream ss;
      ss << in.rdbuf();
      const auto doc = nlohmann::json::parse(ss.str());
      for (const auto& [name, tmpl] : doc["templates"].items())
        write(out / "chat_template" / (name + ".jinja"), tmpl.get<std::string>());
    }
    std::printf("seeds written to %s\n", out.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
