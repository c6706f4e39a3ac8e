// libFuzzer target: a safetensors file through the header parser, the tensor views, the
// Hugging Face name mapping and the model build (with the config of the seed models).
#include "fuzz_input.h"
#include "llm/config/error.h"
#include "llm/loading/hf_checkpoint.h"
#include "llm/loading/safetensors.h"

namespace {
// The configuration make_seeds writes its safetensors seeds with.
llm::ModelConfig seed_config() {
  llm::ModelConfig c;
  c.dim = 32, c.hidden_dim = 64, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
  c.vocab_size = 16, c.max_seq_len = 16, c.rope_layout = llm::RopeLayout::HalfSplit;
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llm::fuzz::MemFile mem(data, size);
  try {
    const auto file = llm::MappedFile::open(mem.path());
    const llm::SafetensorsFile st = llm::SafetensorsFile::parse(file);
    const llm::TensorMap tensors = st.tensors();
    for (const auto& [name, t] : tensors) llm::fuzz::check_inside(t, *file);
    const llm::TensorMap mapped = llm::map_hf_names(tensors, "fuzz");
    const llm::Model m = llm::Model::from_tensors(seed_config(), mapped, "fuzz");
    (void)m;
  } catch (const llm::Error&) {
  }
  return 0;
}
