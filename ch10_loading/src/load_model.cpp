#include "llm/loading/load_model.h"

#include <cstring>
#include <filesystem>

#include "llm/config/error.h"
#include "llm/config/mapped_file.h"
#include "llm/loading/hf_checkpoint.h"

namespace llm {
namespace {

namespace fs = std::filesystem;

// A token's text for the chat template's bos_token / eos_token: the vocabulary's spelling of
// the special token, as llama.cpp passes it.
std::string special_text(const Tokenizer* tok, int32_t id) {
  if (!tok || id < 0 || id >= tok->vocab_size()) return "";
  return tok->piece(id);
}

Checkpoint open_gguf(const std::string& path) {
  Checkpoint c;
  c.format = ModelFormat::Gguf;
  c.gguf = GgufFile::open(path);
  c.config = ModelConfig::from_gguf(c.gguf->metadata());
  c.tensors = c.gguf->tensors();
  c.config.tied_embeddings = !c.tensors.count("output.weight");
  c.chat_template = c.gguf->metadata().opt_string("tokenizer.chat_template").value_or("");
  return c;
}

Checkpoint open_safetensors(const std::string& path) {
  HfCheckpoint hf = open_hf_checkpoint(path);
  Checkpoint c;
  c.format = ModelFormat::Safetensors;
  c.config = hf.config;
  c.tensors = std::move(hf.tensors);
  c.config.tied_embeddings = !c.tensors.count("output.weight");
  c.tokenizer_path = hf.tokenizer_json;
  c.chat_template = hf.chat_template;
  c.bos_token = hf.bos_token;
  c.eos_token = hf.eos_token;
  return c;
}

Checkpoint open_llama2c(const std::string& path) {
  const Model m = load_llama2c(path);
  Checkpoint c;
  c.format = ModelFormat::Llama2c;
  c.config = m.config;
  c.tensors = model_tensors(m);  // the tensors keep the mapping alive, not the Model
  return c;
}

}  // namespace

const char* model_format_name(ModelFormat f) {
  switch (f) {
    case ModelFormat::Gguf:
      return "gguf";
    case ModelFormat::Safetensors:
      return "safetensors";
    case ModelFormat::Llama2c:
      return "llama2.c";
  }
  return "?";
}

ModelFormat detect_model_format(const std::string& path) {
  if (fs::is_directory(path)) return ModelFormat::Safetensors;
  if (path.ends_with(".safetensors") || path.ends_with(".json")) return ModelFormat::Safetensors;
  const auto file = MappedFile::open(path);
  const auto b = file->bytes();
  if (b.size() >= 4 && std::memcmp(b.data(), "GGUF", 4) == 0) return ModelFormat::Gguf;
  if (b.size() >= 10) {
    uint64_t n;
    std::memcpy(&n, b.data(), 8);
    if (n <= b.size() - 8 && n <= 100'000'000 && static_cast<char>(b[8]) == '{')
      return ModelFormat::Safetensors;
  }
  // A llama2.c checkpoint starts with seven int32: dim, hidden_dim, n_layers, n_heads,
  // n_kv_heads, vocab_size (negative: an unshared classifier), seq_len — plausible ones.
  if (b.size() >= 28) {
    int32_t h[7];
    std::memcpy(h, b.data(), sizeof h);
    const int32_t vocab = h[5] < 0 ? -h[5] : h[5];
    if (h[0] > 0 && h[0] <= 1 << 16 && h[1] > 0 && h[1] <= 1 << 20 && h[2] > 0 && h[2] <= 1024 &&
        h[3] > 0 && h[3] <= h[0] && h[0] % h[3] == 0 && h[4] > 0 && h[4] <= h[3] && vocab > 0 &&
        vocab <= 1 << 24 && h[6] > 0 && h[6] <= 1 << 24)
      return ModelFormat::Llama2c;
  }
  // None of them: say what the file looks like instead of failing on a llama2.c header.
  const std::string head(reinterpret_cast<const char*>(b.data()), std::min<size_t>(b.size(), 512));
  std::string what;
  if (b.empty())
    what = "it is empty";
  else if (head.starts_with("version https://git-lfs.github.com/spec/"))
    what =
        "it is a git-lfs pointer, not the file it points to (run `git lfs pull`, or download "
        "the file itself)";
  else if (head.find("<html") != std::string::npos || head.find("<!DOCTYPE") != std::string::npos ||
           head.find("<!doctype") != std::string::npos)
    what = "it is an HTML page (a download that saved an error or login page?)";
  else
    what = "its first bytes match none of them";
  throw Error(path + " is not a GGUF, safetensors or llama2.c model file: " + what);
}

Checkpoint open_checkpoint(const std::string& path, const std::string& tokenizer_path) {
  Checkpoint c;
  switch (detect_model_format(path)) {
    case ModelFormat::Gguf:
      c = open_gguf(path);
      break;
    case ModelFormat::Safetensors:
      c = open_safetensors(path);
      break;
    case ModelFormat::Llama2c:
      c = open_llama2c(path);
      break;
  }
  c.path = path;
  if (!tokenizer_path.empty()) c.tokenizer_path = tokenizer_path;
  return c;
}

std::unique_ptr<Tokenizer> load_checkpoint_tokenizer(const Checkpoint& c) {
  std::unique_ptr<Tokenizer> tok;
  if (!c.tokenizer_path.empty()) {
    tok = load_tokenizer(c.tokenizer_path,
                         c.format == ModelFormat::Llama2c ? c.config.vocab_size : 0);
  } else if (c.gguf && c.gguf->metadata().has("tokenizer.ggml.model")) {
    tok = tokenizer_from_gguf(c.gguf->metadata());
  }
  if (tok && tok->vocab_size() > c.config.vocab_size)
    throw Error(c.path + ": the tokenizer has " + std::to_string(tok->vocab_size()) +
                " tokens but the model's vocabulary only " + std::to_string(c.config.vocab_size));
  return tok;
}

LoadedModel load_model(const std::string& path, const std::string& tokenizer_path) {
  Checkpoint c = open_checkpoint(path, tokenizer_path);
  LoadedModel m;
  m.format = c.format;
  m.path = path;
  m.model = std::make_shared<Model>(Model::from_tensors(c.config, c.tensors, path));
  m.tokenizer = load_checkpoint_tokenizer(c);
  m.chat_template = c.chat_template;
  m.bos_token = c.bos_token.empty()
                    ? special_text(m.tokenizer.get(), m.tokenizer ? m.tokenizer->bos_id() : -1)
                    : c.bos_token;
  m.eos_token = c.eos_token.empty()
                    ? special_text(m.tokenizer.get(), m.tokenizer ? m.tokenizer->eos_id() : -1)
                    : c.eos_token;
  return m;
}

std::string render_chat(const LoadedModel& m, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  if (m.chat_template.empty())
    throw Error(m.path + ": the model has no chat template (tokenizer.chat_template)");
  ChatTemplateOptions o;
  o.add_generation_prompt = add_generation_prompt;
  o.bos_token = m.bos_token;
  o.eos_token = m.eos_token;
  return ChatTemplate(m.chat_template).apply(messages, o);
}

TensorMap model_tensors(const Model& m) {
  TensorMap t;
  t["token_embd.weight"] = m.token_embd;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const LayerWeights& w = m.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    t[p + "attn_norm.weight"] = w.attn_norm;
    t[p + "attn_q.weight"] = w.wq;
    t[p + "attn_k.weight"] = w.wk;
    t[p + "attn_v.weight"] = w.wv;
    t[p + "attn_output.weight"] = w.wo;
    t[p + "ffn_norm.weight"] = w.ffn_norm;
    t[p + "ffn_gate.weight"] = w.w_gate;
    t[p + "ffn_up.weight"] = w.w_up;
    t[p + "ffn_down.weight"] = w.w_down;
  }
  t["output_norm.weight"] = m.output_norm;
  if (!m.config.tied_embeddings && m.output.data() != m.token_embd.data())
    t["output.weight"] = m.output;
  return t;
}

}  // namespace llm
