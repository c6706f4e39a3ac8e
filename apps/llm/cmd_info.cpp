// llm info --model FILE: what a model file holds (chapter 10 adds tensors and the tokenizer).
#include <cstdio>

#include "args.h"
#include "llm/config/gguf_metadata.h"
#include "llm/config/model_config.h"

namespace llm::cli {
namespace {

int run_info(Args& args) {
  const std::string path = args.required("--model");
  args.finish();
  if (path.ends_with(".gguf")) {
    const auto meta = GgufMetadata::load(path);
    std::printf("file: %s (GGUF v%u, %llu tensors)\n", path.c_str(), meta.version(),
                static_cast<unsigned long long>(meta.tensor_count()));
    std::printf("config: %s\n", ModelConfig::from_gguf(meta).summary().c_str());
  } else if (path.ends_with(".json")) {
    std::printf("config: %s\n", ModelConfig::from_hf_config_json(path).summary().c_str());
  } else {
    const auto file = MappedFile::open(path);
    const auto header = file->bytes().first(std::min(file->size(), ModelConfig::kLlama2cHeaderBytes));
    std::printf("config: %s\n", ModelConfig::from_llama2c_header(header, path).summary().c_str());
  }
  return 0;
}

}  // namespace

extern const Command kInfo{"info", "info --model FILE", &run_info};

}  // namespace llm::cli
