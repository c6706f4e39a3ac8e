// ch01_inspect_config FILE — reads a model configuration from a llama2.c checkpoint, a
// Hugging Face config.json or a GGUF file and prints it, with the GGUF metadata keys.
#include <cstdio>
#include <string>

#include "llm/config/gguf_metadata.h"
#include "llm/config/model_config.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s (model.bin | config.json | model.gguf)\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  try {
    if (path.ends_with(".json")) {
      std::printf("%s\n", llm::ModelConfig::from_hf_config_json(path).summary().c_str());
    } else if (path.ends_with(".gguf")) {
      auto meta = llm::GgufMetadata::load(path);
      std::printf("GGUF v%u, %llu tensors\n", meta.version(),
                  static_cast<unsigned long long>(meta.tensor_count()));
      for (const auto& [key, v] : meta.entries()) {
        std::printf("  %-45s %s", key.c_str(), std::string(llm::gguf_type_name(v.type)).c_str());
        if (v.is_array()) std::printf("[%zu]", v.array_size());
        std::printf("\n");
      }
      std::printf("%s\n", llm::ModelConfig::from_gguf(meta).summary().c_str());
    } else {
      auto file = llm::MappedFile::open(path);
      auto header =
          file->bytes().first(std::min(file->size(), llm::ModelConfig::kLlama2cHeaderBytes));
      std::printf("%s\n", llm::ModelConfig::from_llama2c_header(header, path).summary().c_str());
    }
  } catch (const llm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
