// libFuzzer target: a GGUF file through everything chapter 10 does with one — metadata, tensor
// infos, tensor views, the config, the model build, the tokenizer and the chat template.
#include "fuzz_input.h"
#include "llm/config/error.h"
#include "llm/loading/chat_template.h"
#include "llm/loading/gguf_file.h"
#include "llm/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llm::fuzz::MemFile mem(data, size);
  try {
    const auto file = llm::MappedFile::open(mem.path());
    const llm::GgufFile g = llm::GgufFile::parse(file);
    const llm::TensorMap tensors = g.tensors();
    for (const auto& [name, t] : tensors) llm::fuzz::check_inside(t, *file);
    try {
      llm::ModelConfig c = llm::ModelConfig::from_gguf(g.metadata());
      const llm::Model m = llm::Model::from_tensors(c, tensors, "fuzz");
      (void)m;
    } catch (const llm::Error&) {
    }
    try {
      if (g.metadata().has("tokenizer.ggml.model")) {
        const auto tok = llm::tokenizer_from_gguf(g.metadata());
        const auto ids = tok->encode("Hello, world! 123 <s>");
        (void)tok->decode(ids);
      }
    } catch (const llm::Error&) {
    }
    if (auto tmpl = g.metadata().opt_string("tokenizer.chat_template")) {
      const std::vector<llm::ChatMessage> msgs = {
          {"system", "s"}, {"user", "u"}, {"assistant", "a"}};
      (void)llm::ChatTemplate(*tmpl).apply(msgs);
    }
  } catch (const llm::Error&) {
  }
  return 0;
}
