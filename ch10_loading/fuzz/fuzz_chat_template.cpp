// libFuzzer target: arbitrary text as a chat template — parsed, then rendered with a small
// conversation. Errors are expected; crashes, hangs and runaway memory are not.
#include <string>
#include <vector>

#include "llm/config/error.h"
#include "llm/loading/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<llm::ChatMessage> msgs = {{"system", "You are helpful."},
                                              {"user", "Hi there"},
                                              {"assistant", "Hello!"},
                                              {"user", "2+2?"}};
  for (bool hf : {true, false}) {
    try {
      llm::ChatTemplateOptions o;
      o.bos_token = "<s>";
      o.eos_token = "</s>";
      (void)llm::ChatTemplate(text, hf).apply(msgs, o);
    } catch (const llm::Error&) {
    }
  }
  return 0;
}
