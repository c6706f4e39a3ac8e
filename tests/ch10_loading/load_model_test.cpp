// load_model: the same synthetic weights written as GGUF, safetensors (single and sharded) and
// llama2.c load to identical models; the real files load with their tokenizers and templates.
#include <gtest/gtest.h>

#include "llm/config/error.h"
#include "llm/loading/load_model.h"
#include "model_files.h"

using namespace llm;
namespace t = llm::testing;
using llm::test10::temp_dir;
namespace fs = std::filesystem;

TEST(LoadModel, EveryFormatGivesTheSameWeights) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const ModelConfig c = test10::tiny_config(tied);
    const TensorMap w = test10::random_weights(c, 11);
    const std::string dir = temp_dir(tied ? "fmt_tied" : "fmt");
    test10::gguf_model(c, w).write(dir + "/m.gguf");
    test10::write_llama2c(dir + "/m.bin", c, w);
    test10::write_hf_dir(dir + "/hf1", c, w, 1);
    test10::write_hf_dir(dir + "/hf2", c, w, 2);

    const LoadedModel ref = load_model(dir + "/m.gguf");
    EXPECT_EQ(ref.format, ModelFormat::Gguf);
    EXPECT_EQ(ref.model->config.rope_layout, RopeLayout::Interleaved);
    EXPECT_EQ(ref.tokenizer, nullptr);  // the synthetic file has no tokenizer
    test10::expect_same_config(ref.model->config, c);
    for (const std::string p : {"/m.bin", "/hf1", "/hf2", "/hf1/model.safetensors",
                                "/hf2/model.safetensors.index.json"}) {
      SCOPED_TRACE(p);
      const LoadedModel m = load_model(dir + p);
      EXPECT_EQ(m.format, p == "/m.bin" ? ModelFormat::Llama2c : ModelFormat::Safetensors);
      test10::expect_same_config(m.model->config, c);
      test10::expect_same_weights(*m.model, *ref.model);
      EXPECT_EQ(m.model->config.rope_layout, m.format == ModelFormat::Safetensors
                                                 ? RopeLayout::HalfSplit
                                                 : RopeLayout::Interleaved);
    }
  }
}

TEST(LoadModel, QuantizedAndHalfGgufMatchTheirSource) {
  const ModelConfig c = test10::tiny_config();
  const TensorMap w = test10::random_weights(c, 12);
  const std::string dir = temp_dir("quantgguf");
  const LoadedModel f32 = [&] {
    test10::gguf_model(c, w).write(dir + "/f32.gguf");
    return load_model(dir + "/f32.gguf");
  }();
  // Weights in [-0.5, 0.5): each format's worst-case error per element.
  for (auto [dt, tol] : {std::pair{DType::F16, 2e-4},
                         {DType::BF16, 2e-3},
                         {DType::Q8_0, 0.5 / 127},
                         {DType::Q4_1, 1.0 / 15},
                         {DType::Q4_0, 0.5 / 8 + 1e-6}}) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    const TensorMap q = test10::convert(w, dt);
    const std::string path = dir + "/" + std::string(dtype_name(dt)) + ".gguf";
    test10::gguf_model(c, q).write(path);
    const LoadedModel m = load_model(path);
    EXPECT_EQ(m.model->layers[0].wq.dtype(), dt);
    test10::expect_same_weights(*m.model, *f32.model, tol);
    // And exactly what quantize_tensor produced, byte for byte.
    EXPECT_EQ(0, std::memcmp(m.model->layers[1].w_down.data(), q.at("blk.1.ffn_down.weight").data(),
                             q.at("blk.1.ffn_down.weight").nbytes()));
  }
}

TEST(LoadModel, Stories260KInEveryForm) {
  const std::string gguf = t::models_dir() + "/stories260K-f32.gguf";
  const std::string bin = t::models_dir() + "/stories260K.bin";
  const std::string tok = t::models_dir() + "/tok512.bin";
  for (const auto& p : {gguf, bin, tok})
    if (!t::require_file(p)) GTEST_SKIP() << t::skip_reason(p);
  const LoadedModel g = load_model(gguf);
  const LoadedModel b = load_model(bin, tok);
  test10::expect_same_weights(*g.model, *b.model);
  EXPECT_FALSE(g.model->config.tied_embeddings);  // the GGUF writes the classifier out
  EXPECT_TRUE(b.model->config.tied_embeddings);
  ASSERT_NE(g.tokenizer, nullptr);
  ASSERT_NE(b.tokenizer, nullptr);
  EXPECT_EQ(g.tokenizer->vocab_size(), 512);
  EXPECT_EQ(b.tokenizer->vocab_size(), 512);
  const std::string text = "Once upon a time, there was a little girl.";
  EXPECT_EQ(g.tokenizer->encode(text), b.tokenizer->encode(text));
  EXPECT_EQ(g.bos_token, "<s>");
  EXPECT_EQ(g.eos_token, "</s>");
  EXPECT_TRUE(g.chat_template.empty());
  EXPECT_THROW(render_chat(g, {{"user", "hi"}}), Error);
  EXPECT_EQ(load_model(bin).tokenizer, nullptr);  // llama2.c: the tokenizer is a separate file
  // A tokenizer with more tokens than the model has rows is refused.
  const std::string big = t::models_dir() + "/tokenizer.bin";
  if (t::require_file(big)) {
    EXPECT_THROW(load_model(gguf, big), Error);
  }
}

TEST(LoadModel, DefaultModel) {
  const std::string path = t::default_model_path();
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel m = load_model(path);
  const ModelConfig& c = m.model->config;
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.max_seq_len, 8192);
  EXPECT_FLOAT_EQ(c.rope_theta, 100000.0f);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(m.model->output.data(), m.model->token_embd.data());
  EXPECT_EQ(m.model->token_embd.dtype(), DType::Q8_0);
  EXPECT_EQ(m.model->layers[7].wq.dtype(), DType::Q4_1);
  EXPECT_EQ(m.model->layers[7].attn_norm.dtype(), DType::F32);
  ASSERT_NE(m.tokenizer, nullptr);
  EXPECT_EQ(m.tokenizer->vocab_size(), 49152);
  EXPECT_EQ(m.bos_token, "<|im_start|>");
  EXPECT_EQ(m.eos_token, "<|im_end|>");
  EXPECT_EQ(render_chat(m, {{"user", "What is 2+2?"}}),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(m, {{"system", "Be brief."}, {"user", "Hi"}}, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(LoadModel, HuggingFaceDirectoryWithTokenizerAndTemplate) {
  const std::string tok = t::shared_dir() + "/tokenizers/smollm2/tokenizer.json";
  if (!t::require_file(tok)) GTEST_SKIP() << t::skip_reason(tok);
  ModelConfig c = test10::tiny_config(true);
  c.vocab_size = 49152;  // the tokenizer's vocabulary
  const std::string dir = temp_dir("hftok");
  test10::write_hf_dir(dir, c, test10::random_weights(c, 4), 1);
  fs::copy_file(tok, dir + "/tokenizer.json");
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"bos_token": "<|endoftext|>", "eos_token": {"content": "<|im_end|>"},
            "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{{ eos_token }}"})";
  const LoadedModel m = load_model(dir);
  ASSERT_NE(m.tokenizer, nullptr);
  EXPECT_EQ(m.tokenizer->vocab_size(), 49152);
  EXPECT_EQ(m.bos_token, "<|endoftext|>");
  EXPECT_EQ(m.eos_token, "<|im_end|>");
  EXPECT_EQ(render_chat(m, {{"user", "x"}}), "<|im_start|>user\nx<|im_end|>\n<|im_end|>");
}

TEST(LoadModel, DetectsFormatsByContent) {
  const ModelConfig c = test10::tiny_config();
  const TensorMap w = test10::random_weights(c, 5);
  const std::string dir = temp_dir("detect");
  test10::gguf_model(c, w).write(dir + "/model.weights");  // no telling extension
  test10::write_llama2c(dir + "/model.gguf", c, w);        // a misleading one
  EXPECT_EQ(detect_model_format(dir + "/model.weights"), ModelFormat::Gguf);
  EXPECT_EQ(detect_model_format(dir + "/model.gguf"), ModelFormat::Llama2c);
  EXPECT_EQ(detect_model_format(dir), ModelFormat::Safetensors);
  EXPECT_THROW(load_model(dir + "/nonexistent"), Error);
  test10::write_bytes(dir + "/junk.bin", std::string(100, 'x'));
  EXPECT_THROW(load_model(dir + "/junk.bin"), Error);
}

// Files that are no model say so, naming the file and the formats tried.
TEST(LoadModel, NotAModelFileIsNamedAsSuch) {
  const std::string dir = temp_dir("notamodel");
  const std::pair<const char*, std::string> cases[] = {
      {"empty.gguf", ""},
      {"lfs.gguf", "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 98765432\n"},
      {"page.gguf", "<!DOCTYPE html><html><body>Sign in to continue</body></html>"},
      {"junk.gguf", std::string(200, 'x')},
  };
  const char* says[] = {"empty", "git-lfs pointer", "HTML page", "match none"};
  for (size_t i = 0; i < std::size(cases); ++i) {
    const std::string path = dir + "/" + cases[i].first;
    test10::write_bytes(path, cases[i].second);
    try {
      load_model(path);
      ADD_FAILURE() << path << " loaded";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path + " is not a GGUF, safetensors or llama2.c model file"),
                std::string::npos)
          << msg;
      EXPECT_NE(msg.find(says[i]), std::string::npos) << msg;
    }
  }
}
