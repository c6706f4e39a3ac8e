// ChatTemplate against Python jinja2: data/chat_templates.json holds templates (SmolLM2's,
// ChatML, Llama-2, Llama-3, Zephyr, Mistral, Gemma, Phi-3, and made-up ones exercising the
// subset), conversations, and the text jinja2 rendered for each (data/gen_chat_templates.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llm/config/error.h"
#include "llm/loading/chat_template.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;

namespace {

nlohmann::json cases() {
  return nlohmann::json::parse(
      t::read_file(t::source_dir() + "/tests/ch10_loading/data/chat_templates.json"));
}

std::vector<ChatMessage> conversation(const nlohmann::json& j) {
  std::vector<ChatMessage> out;
  for (const auto& m : j)
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return out;
}

}  // namespace

TEST(ChatTemplate, MatchesPythonJinja2) {
  const nlohmann::json doc = cases();
  ChatTemplateOptions base;
  base.bos_token = doc["bos_token"];
  base.eos_token = doc["eos_token"];
  int rendered = 0, refused = 0;
  for (const auto& c : doc["cases"]) {
    const std::string name = c["template"].get<std::string>() + "/" +
                             c["conversation"].get<std::string>() +
                             (c["add_generation_prompt"].get<bool>() ? "/gen" : "/nogen") +
                             (c["hf"].get<bool>() ? "/hf" : "/plain");
    SCOPED_TRACE(name);
    const std::string src = doc["templates"][c["template"].get<std::string>()];
    const auto msgs = conversation(doc["conversations"][c["conversation"].get<std::string>()]);
    ChatTemplateOptions o = base;
    o.add_generation_prompt = c["add_generation_prompt"];
    const nlohmann::json& want = c["expected"];
    if (want.contains("ok")) {
      try {
        EXPECT_EQ(ChatTemplate(src, c["hf"].get<bool>()).apply(msgs, o),
                  want["ok"].get<std::string>());
        ++rendered;
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
      }
    } else {
      // jinja2 raised (raise_exception, a type error, bad syntax) or the construct is outside
      // the subset: either way an llm::Error, never a crash.
      EXPECT_THROW(ChatTemplate(src, c["hf"].get<bool>()).apply(msgs, o), Error);
      ++refused;
    }
  }
  EXPECT_GT(rendered, 100);
  EXPECT_GT(refused, 10);
}

TEST(ChatTemplate, RaiseExceptionCarriesTheMessage) {
  try {
    apply_chat_template("{{ raise_exception('roles must alternate') }}", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("roles must alternate"), std::string::npos);
  }
}

TEST(ChatTemplate, ErrorsNameTheLine) {
  try {
    ChatTemplate("line one\n{% if true %}\n{{ a | nosuchfilter }}\n{% endif %}")
        .apply(std::vector<ChatMessage>{}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ChatTemplate("{% for x in y %}"), Error);
  EXPECT_THROW(ChatTemplate("{{ 'abc"), Error);
  EXPECT_THROW(ChatTemplate("{% endif %}"), Error);
  EXPECT_THROW(ChatTemplate("{% raw %}x{% endraw %}"), Error);
}

TEST(ChatTemplate, HostileTemplatesAreBounded) {
  const std::vector<ChatMessage> msgs(8, ChatMessage{"user", std::string(1000, 'x')});
  // Deep nesting is refused at parse time rather than overflowing the stack.
  EXPECT_THROW(ChatTemplate("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"),
               Error);
  EXPECT_THROW(ChatTemplate("{{ " + std::string(5000, '-') + "1 }}"), Error);
  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "{% if true %}";
  for (int i = 0; i < 500; ++i) nested += "{% endif %}";
  EXPECT_THROW(ChatTemplate{nested}, Error);
  // Doubling a string per message, or nested loops: bounded output and work.
  EXPECT_THROW(ChatTemplate("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for a in messages "
                            "%}{% for b in messages %}{% for c in messages %}{% set ns.s = ns.s + "
                            "ns.s %}{% endfor %}{% endfor %}{% endfor %}{{ ns.s }}")
                   .apply(msgs),
               Error);
  std::string loops;
  for (int i = 0; i < 12; ++i) loops += "{% for m" + std::to_string(i) + " in messages %}";
  for (int i = 0; i < 12; ++i) loops += "{% endfor %}";
  EXPECT_THROW(ChatTemplate(loops).apply(msgs), Error);
  EXPECT_THROW(ChatTemplate("{{ 'x' * 100000000 }}").apply(msgs), Error);
  // Found by fuzz_chat_template (a leak): a namespace stored inside itself, directly or through
  // a list or another namespace, would be a reference cycle.
  EXPECT_THROW(ChatTemplate("{% set ns = namespace(a=1) %}{% set ns.a = ns %}").apply(msgs), Error);
  EXPECT_THROW(ChatTemplate("{% set ns = namespace(a=1) %}{% set ns.a = [1, [ns]] %}").apply(msgs),
               Error);
  EXPECT_THROW(
      ChatTemplate("{% set a = namespace(x=1) %}{% set b = namespace(x=a) %}{% set a.x = b %}")
          .apply(msgs),
      Error);
  EXPECT_EQ(ChatTemplate("{% set a = namespace(x=1) %}{% set b = namespace(x=a) %}{{ b.x.x }}")
                .apply(msgs),
            "1");
}
