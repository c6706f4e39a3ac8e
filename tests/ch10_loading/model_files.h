// Test helpers for chapter 10: a tiny random Llama model (fixed seed) and writers for every
// format the loader reads — GGUF (through GgufWriter), safetensors (single file or shards with
// an index), Hugging Face config.json, and llama2.c checkpoints — so the same weights can be
// written each way and loaded back.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/config/model_config.h"
#include "llm/loading/gguf_writer.h"
#include "llm/loading/model_metadata.h"
#include "llm/loading/safetensors.h"
#include "llm/quant/quant.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"
#include "llm/transformer/model.h"

namespace llm::test10 {

namespace fs = std::filesystem;

// dim 64, hidden 96 (three 32-value blocks), 2 layers, 4 heads / 2 KV heads of 16, vocab 128.
inline ModelConfig tiny_config(bool tied = false) {
  ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 96;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 128;
  c.max_seq_len = 64;
  c.rope_theta = 10000.0f;
  c.norm_eps = 1e-5f;
  c.tied_embeddings = tied;
  return c;
}

// Random f32 weights under llama.cpp names (no output.weight when tied).
inline TensorMap random_weights(const ModelConfig& c, uint64_t seed) {
  return testing::random_llama_weights(c, seed);
}

// llama.cpp name -> Hugging Face name.
inline std::string hf_name(const std::string& gguf) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  static const std::map<std::string, std::string> layer = {
      {"attn_q", "self_attn.q_proj"},          {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},          {"attn_output", "self_attn.o_proj"},
      {"ffn_gate", "mlp.gate_proj"},           {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},           {"attn_norm", "input_layernorm"},
      {"ffn_norm", "post_attention_layernorm"}};
  const size_t a = gguf.find('.', 4), b = gguf.rfind('.');
  return "model.layers." + gguf.substr(4, a - 4) + "." + layer.at(gguf.substr(a + 1, b - a - 1)) +
         ".weight";
}

// Converts the 2-D tensors to `matrices` (1-D stay f32), as a model file would store them.
inline TensorMap convert(const TensorMap& t, DType matrices) {
  TensorMap out;
  for (const auto& [n, x] : t) out[n] = x.shape().ndim >= 2 ? quantize_tensor(x, matrices) : x;
  return out;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A GGUF model file: config keys, an optional tokenizer given as metadata, the tensors.
inline GgufWriter gguf_model(const ModelConfig& c, const TensorMap& t, uint32_t alignment = 32) {
  GgufWriter w(alignment);
  ModelConfig interleaved = c;
  interleaved.rope_layout = RopeLayout::Interleaved;
  write_config_metadata(w, interleaved, "tiny");
  for (const auto& [n, x] : t) w.add_tensor(n, x);
  return w;
}

// safetensors bytes for tensors (F32/F16/BF16) under the names given.
inline std::string safetensors_bytes(const std::map<std::string, Tensor>& t) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  for (const auto& [n, x] : t) {
    std::vector<int64_t> shape(x.shape().dims.begin(), x.shape().dims.begin() + x.shape().ndim);
    header[n] = {{"dtype", safetensors_dtype_name(x.dtype())},
                 {"shape", shape},
                 {"data_offsets", {data.size(), data.size() + x.nbytes()}}};
    data.append(static_cast<const char*>(x.data()), x.nbytes());
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';  // the reference writer pads to 8 bytes
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + data;
}

inline void write_config_json(const std::string& dir, const ModelConfig& c) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"model_type", "llama"},
                      {"hidden_size", c.dim},
                      {"intermediate_size", c.hidden_dim},
                      {"num_hidden_layers", c.n_layers},
                      {"num_attention_heads", c.n_heads},
                      {"num_key_value_heads", c.n_kv_heads},
                      {"vocab_size", c.vocab_size},
                      {"max_position_embeddings", c.max_seq_len},
                      {"rope_theta", c.rope_theta},
                      {"rms_norm_eps", c.norm_eps},
                      {"tie_word_embeddings", c.tied_embeddings}};
  std::ofstream(dir + "/config.json") << j.dump(2);
}

// A Hugging Face directory: config.json and the weights under HF names, in one file or in
// `shards` files listed by model.safetensors.index.json.
inline void write_hf_dir(const std::string& dir, const ModelConfig& c, const TensorMap& t,
                         int shards = 1) {
  fs::create_directories(dir);
  write_config_json(dir, c);
  std::vector<std::map<std::string, Tensor>> parts(static_cast<size_t>(shards));
  nlohmann::json index = {{"metadata", {{"total_size", 0}}},
                          {"weight_map", nlohmann::json::object()}};
  size_t i = 0;
  for (const auto& [n, x] : t) {
    const size_t s = i++ % static_cast<size_t>(shards);
    parts[s][hf_name(n)] = x;
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05d.safetensors", s + 1, shards);
    index["weight_map"][hf_name(n)] = file;
  }
  if (shards == 1) {
    write_bytes(dir + "/model.safetensors", safetensors_bytes(parts[0]));
    return;
  }
  for (size_t s = 0; s < parts.size(); ++s) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05d.safetensors", s + 1, shards);
    write_bytes(dir + "/" + file, safetensors_bytes(parts[s]));
  }
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2);
}

// A llama2.c legacy checkpoint (f32): header, arrays in llama2.c's order, zero RoPE tables.
inline void write_llama2c(const std::string& path, const ModelConfig& c, const TensorMap& t) {
  std::string out;
  auto i32 = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  for (int v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                c.tied_embeddings ? c.vocab_size : -c.vocab_size, c.max_seq_len})
    i32(v);
  auto put = [&](const std::string& n) {
    const std::vector<float> v = t.at(n).to_f32();
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  };
  auto layers = [&](const char* s) {
    for (int l = 0; l < c.n_layers; ++l) put("blk." + std::to_string(l) + "." + s + ".weight");
  };
  put("token_embd.weight");
  for (const char* s : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                        "ffn_gate", "ffn_down", "ffn_up"})
    layers(s);
  put("output_norm.weight");
  out.append(static_cast<size_t>(c.max_seq_len) * static_cast<size_t>(c.head_dim) * 4, '\0');
  if (!c.tied_embeddings) put("output.weight");
  write_bytes(path, out);
}

// Every weight of two models equal as f32 (bit for bit unless `tolerance` > 0).
inline void expect_same_weights(const Model& a, const Model& b, double tolerance = 0) {
  auto same = [&](const Tensor& x, const Tensor& y, const std::string& what) {
    ASSERT_EQ(x.shape(), y.shape()) << what;
    const Tensor fx = dequantize_tensor(x), fy = dequantize_tensor(y);
    const std::span<const float> vx(fx.as<float>(), static_cast<size_t>(fx.numel()));
    const std::span<const float> vy(fy.as<float>(), static_cast<size_t>(fy.numel()));
    if (tolerance == 0)
      ASSERT_EQ(0, std::memcmp(vx.data(), vy.data(), vx.size_bytes())) << what;
    else
      EXPECT_LE(testing::max_abs_diff(vx, vy), tolerance) << what;
  };
  same(a.token_embd, b.token_embd, "token_embd");
  same(a.output, b.output, "output");
  same(a.output_norm, b.output_norm, "output_norm");
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const LayerWeights &x = a.layers[l], &y = b.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    same(x.attn_norm, y.attn_norm, p + "attn_norm");
    same(x.wq, y.wq, p + "wq");
    same(x.wk, y.wk, p + "wk");
    same(x.wv, y.wv, p + "wv");
    same(x.wo, y.wo, p + "wo");
    same(x.ffn_norm, y.ffn_norm, p + "ffn_norm");
    same(x.w_gate, y.w_gate, p + "w_gate");
    same(x.w_up, y.w_up, p + "w_up");
    same(x.w_down, y.w_down, p + "w_down");
  }
}

inline void expect_same_config(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.hidden_dim, b.hidden_dim);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.max_seq_len, b.max_seq_len);
  EXPECT_FLOAT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_FLOAT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
}

// A fresh directory under the test temp dir.
inline std::string temp_dir(const std::string& name) {
  const std::string d = llm::testing::temp_path("ch10_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace llm::test10
