#include "llm/loading/chat_template.h"

#include "jinja.h"

namespace llm {

ChatTemplate::ChatTemplate(const std::string& source, bool hf_whitespace)
    : root_(jinja::parse(source, jinja::ParseOptions{hf_whitespace, hf_whitespace})) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::apply(std::span<const ChatMessage> messages,
                                const ChatTemplateOptions& options) const {
  using jinja::Value;
  Value list = Value::new_list();
  for (const ChatMessage& m : messages) {
    Value msg = Value::new_dict();
    msg.set("role", Value::str(m.role));
    msg.set("content", Value::str(m.content));
    list.list->push_back(std::move(msg));
  }
  const jinja::Dict globals = {
      {"messages", list},
      {"add_generation_prompt", Value::boolean(options.add_generation_prompt)},
      {"bos_token", Value::str(options.bos_token)},
      {"eos_token", Value::str(options.eos_token)},
  };
  return jinja::render(*root_, globals);
}

std::string apply_chat_template(const std::string& source, std::span<const ChatMessage> messages,
                                const ChatTemplateOptions& options) {
  return ChatTemplate(source).apply(messages, options);
}

}  // namespace llm
