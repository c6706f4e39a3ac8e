// ChatTemplate — turns a conversation into the prompt text a chat model was trained on.
//
// Models ship their prompt format as a Jinja template (GGUF `tokenizer.chat_template`,
// Hugging Face `tokenizer_config.json`). Rather than hard-coding ChatML, this interprets the
// template with a small Jinja subset: {{ expr }}, {% if/elif/else %}, {% for %} with loop.*,
// {% set %} (namespaces too), string literals, + ~ == != < > in not and or, subscripts,
// slices and attributes, filters (trim, length, upper, lower, default, join, ...), tests
// (is defined, is none, is string, ...), string methods (strip, startswith, ...),
// raise_exception(), and whitespace control ({%- -%}, trim_blocks, lstrip_blocks). Output
// equals Python jinja2's under Hugging Face's settings (trim_blocks and lstrip_blocks on).
// Anything outside the subset is an llm::Error naming the line — never a crash — and work and
// output size are bounded, since a template comes from a file.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace llm {

namespace jinja {
struct Node;
}

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;  // end with the header of the assistant's turn
  std::string bos_token;              // the template variables of the same names
  std::string eos_token;
};

class ChatTemplate {
 public:
  // Parses once; throws llm::Error("chat template: line N: ...") for unsupported syntax.
  // `hf_whitespace` = Hugging Face's jinja2 environment (trim_blocks, lstrip_blocks); false is
  // jinja2's defaults.
  explicit ChatTemplate(const std::string& source, bool hf_whitespace = true);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders the conversation; throws llm::Error when the template raises or misbehaves.
  std::string apply(std::span<const ChatMessage> messages,
                    const ChatTemplateOptions& options = {}) const;

 private:
  std::unique_ptr<jinja::Node> root_;
};

// One-shot convenience: parse and apply.
std::string apply_chat_template(const std::string& source, std::span<const ChatMessage> messages,
                                const ChatTemplateOptions& options = {});

}  // namespace llm
