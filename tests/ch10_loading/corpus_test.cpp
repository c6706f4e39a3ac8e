// Regression corpus: inputs kept from fuzzing (tests/ch10_loading/corpus/<target>/), each run
// through what its fuzz target runs. Every one must load or be refused with llm::Error.
#include <gtest/gtest.h>

#include <filesystem>

#include "llm/config/error.h"
#include "llm/loading/chat_template.h"
#include "llm/loading/gguf_file.h"
#include "llm/loading/hf_checkpoint.h"
#include "llm/loading/safetensors.h"
#include "llm/testing/testing.h"
#include "llm/tokenizer/tokenizer.h"

using namespace llm;
namespace t = llm::testing;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(t::source_dir()) / "tests/ch10_loading/corpus" / target;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `f`; an llm::Error is a fine outcome, any other exception is not.
template <class F>
void loads_or_refuses(const fs::path& p, F f) {
  SCOPED_TRACE(p.filename().string());
  try {
    f();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an llm::Error: " << e.what();
  }
}

const std::vector<ChatMessage> kChat = {{"system", "s"}, {"user", "u"}, {"assistant", "a"}};

}  // namespace

TEST(FuzzCorpus, Gguf) {
  const auto all = files("gguf");
  for (const fs::path& p : all)
    loads_or_refuses(p, [&] {
      const GgufFile g = GgufFile::open(p.string());
      const TensorMap tensors = g.tensors();
      try {
        Model::from_tensors(ModelConfig::from_gguf(g.metadata()), tensors, p.string());
      } catch (const Error&) {
      }
      try {
        if (g.metadata().has("tokenizer.ggml.model")) {
          const auto tok = tokenizer_from_gguf(g.metadata());
          tok->decode(tok->encode("Hello, world! 123 <s>"));
        }
      } catch (const Error&) {
      }
      if (auto tmpl = g.metadata().opt_string("tokenizer.chat_template"))
        ChatTemplate(*tmpl).apply(kChat);
    });
  std::printf("%zu GGUF inputs\n", all.size());
}

TEST(FuzzCorpus, Safetensors) {
  ModelConfig c;
  c.dim = 32, c.hidden_dim = 64, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
  c.vocab_size = 16, c.max_seq_len = 16, c.rope_layout = RopeLayout::HalfSplit;
  const auto all = files("safetensors");
  for (const fs::path& p : all)
    loads_or_refuses(p, [&] {
      const SafetensorsFile st = SafetensorsFile::open(p.string());
      Model::from_tensors(c, map_hf_names(st.tensors(), p.string()), p.string());
    });
  std::printf("%zu safetensors inputs\n", all.size());
}

TEST(FuzzCorpus, ChatTemplate) {
  const auto all = files("chat_template");
  for (const fs::path& p : all)
    loads_or_refuses(p, [&] {
      for (bool hf : {true, false}) {
        try {
          ChatTemplate(t::read_file(p.string()), hf).apply(kChat);
        } catch (const Error&) {
        }
      }
    });
  std::printf("%zu chat template inputs\n", all.size());
}
