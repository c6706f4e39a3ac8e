#include "llm/loading/hf_checkpoint.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "llm/config/error.h"
#include "llm/loading/safetensors.h"

namespace llm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

// Per-layer Hugging Face suffixes and their llama.cpp names.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kLayerNames{{
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
}};

// A token in tokenizer_config.json is a string or an AddedToken object {"content": ...}.
std::string token_text(const json& cfg, const char* key) {
  const auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return "";
}

// chat_template is a string, or a list of {"name", "template"} of which "default" is the one.
std::string chat_template_of(const json& cfg) {
  const auto it = cfg.find("chat_template");
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array())
    for (const json& t : *it)
      if (t.is_object() && t.value("name", "") == "default" && t.contains("template") &&
          t["template"].is_string())
        return t["template"].get<std::string>();
  return "";
}

// Shard names come from a file: only plain names in the index's own directory are accepted.
void check_shard_name(const std::string& name, const std::string& index) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos)
    throw Error(index + ": weight_map names shard '" + name +
                "', expected a plain file name in the same directory");
}

TensorMap load_index(const std::string& index_path) {
  const json index = read_json(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(index_path + ": expected an object with a 'weight_map' object");
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, std::set<std::string>> by_shard;  // shard -> tensors it should hold
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string())
      throw Error(index_path + ": weight_map['" + tensor + "'] must be a file name");
    const std::string name = shard.get<std::string>();
    check_shard_name(name, index_path);
    by_shard[name].insert(tensor);
  }
  if (by_shard.empty()) throw Error(index_path + ": weight_map is empty");
  TensorMap all;
  for (const auto& [shard, expected] : by_shard) {
    const std::string shard_path = (dir / shard).string();
    const SafetensorsFile file = SafetensorsFile::open(shard_path);
    for (const std::string& t : expected)
      if (!file.find(t))
        throw Error(index_path + ": weight_map puts '" + t + "' in " + shard +
                    ", which does not hold it");
    for (auto& [name, tensor] : file.tensors())
      if (!all.emplace(name, tensor).second)
        throw Error(shard_path + ": tensor '" + name + "' also appears in another shard");
  }
  return all;
}

// The weights file of a directory: the shard index if present, else model.safetensors, else
// the only .safetensors file there.
std::string weights_in(const fs::path& dir) {
  if (fs::exists(dir / "model.safetensors.index.json"))
    return (dir / "model.safetensors.index.json").string();
  if (fs::exists(dir / "model.safetensors")) return (dir / "model.safetensors").string();
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") found.push_back(e.path());
  if (found.size() == 1) return found[0].string();
  throw Error(dir.string() +
              ": expected model.safetensors, model.safetensors.index.json or a "
              "single .safetensors file, found " +
              std::to_string(found.size()) + " .safetensors files");
}

}  // namespace

std::string hf_to_gguf_name(const std::string& hf, const std::string& source) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  constexpr std::string_view prefix = "model.layers.";
  if (hf.starts_with(prefix)) {
    const size_t dot = hf.find('.', prefix.size());
    const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
    const bool numeric = !layer.empty() && layer.size() <= 6 &&
                         layer.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && dot != std::string::npos) {
      const std::string_view rest = std::string_view(hf).substr(dot + 1);
      if (rest == "self_attn.rotary_emb.inv_freq") return "";  // recomputed from rope_theta
      for (const auto& [from, to] : kLayerNames)
        if (rest == from) return "blk." + std::to_string(std::stoi(layer)) + "." + std::string(to);
    }
  }
  throw Error(source + ": tensor '" + hf +
              "' is not a Llama weight this engine knows (biases and other architectures are "
              "not supported)");
}

TensorMap map_hf_names(const TensorMap& hf, const std::string& source) {
  TensorMap out;
  for (const auto& [name, tensor] : hf) {
    const std::string mapped = hf_to_gguf_name(name, source);
    if (mapped.empty()) continue;
    if (!out.emplace(mapped, tensor).second)
      throw Error(source + ": two tensors map to '" + mapped + "' (last: '" + name + "')");
  }
  return out;
}

TensorMap load_safetensors_tensors(const std::string& path) {
  if (path.ends_with(".json")) return load_index(path);
  return SafetensorsFile::open(path).tensors();
}

HfCheckpoint open_hf_checkpoint(const std::string& path) {
  HfCheckpoint c;
  fs::path p(path);
  // config.json or tokenizer.json stand for the directory that holds them.
  const std::string file = p.filename().string();
  if (file == "config.json" || file.starts_with("tokenizer"))
    p = p.parent_path().empty() ? "." : p.parent_path();
  const bool is_dir = fs::is_directory(p);
  c.dir = is_dir ? p.string() : p.parent_path().string();
  if (c.dir.empty()) c.dir = ".";
  const fs::path dir(c.dir);
  const std::string weights = is_dir ? weights_in(dir) : p.string();

  const fs::path config = dir / "config.json";
  if (!fs::exists(config))
    throw Error(weights +
                ": config.json not found beside it (a Hugging Face checkpoint keeps "
                "its hyper-parameters there)");
  c.config = ModelConfig::from_hf_config_json(config.string());
  c.tensors = map_hf_names(load_safetensors_tensors(weights), weights);
  if (!c.config.tied_embeddings && !c.tensors.count("output.weight"))
    throw Error(weights +
                ": lm_head.weight is missing and config.json does not set "
                "tie_word_embeddings");

  if (fs::exists(dir / "tokenizer.json")) c.tokenizer_json = (dir / "tokenizer.json").string();
  if (fs::exists(dir / "tokenizer_config.json")) {
    const json cfg = read_json((dir / "tokenizer_config.json").string());
    if (cfg.is_object()) {
      c.chat_template = chat_template_of(cfg);
      c.bos_token = token_text(cfg, "bos_token");
      c.eos_token = token_text(cfg, "eos_token");
    }
  }
  return c;
}

}  // namespace llm
