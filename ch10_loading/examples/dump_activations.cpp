// dump_activations — the forward pass's named activations, written to files, for comparing this
// engine with another one layer by layer (tests/golden/compare_dumps.py; the llama.cpp side is
// tests/golden/dump_llamacpp_tensors.cpp).
//
//   ch10_dump_activations MODEL OUTDIR "PROMPT IDS" ["FORCED IDS"]
//
// Decodes the prompt as one batch, then each forced id as one token (teacher forcing). Step s
// writes OUTDIR/s<s>_<name>.bin for every activation the observer sees ("layer3.q",
// "layer3.attn_out", "logits", ...): raw little-endian f32, all batch rows one after another.
// Prints the greedy choice after each step.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "llm/config/error.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/transformer/sampler.h"
#include "llm/transformer/transformer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL OUTDIR \"PROMPT IDS\" [\"FORCED IDS\"]\n", argv[0]);
    return 2;
  }
  try {
    const std::string out = argv[2];
    const auto prompt = llm::parse_token_ids(argv[3], "PROMPT IDS");
    const auto forced =
        argc > 4 ? llm::parse_token_ids(argv[4], "FORCED IDS") : std::vector<int32_t>{};
    if (prompt.empty()) throw llm::Error("no prompt ids");
    const llm::LoadedModel lm = llm::load_model(argv[1]);
    llm::Registry registry;
    llm::register_loading(registry);
    llm::ScratchKvCache cache(lm.model->config, 1,
                              static_cast<int>(prompt.size() + forced.size()) + 1);
    llm::Transformer tr(*lm.model, llm::Kernels::reference(registry), cache);
    std::map<std::string, std::vector<float>> seen;  // name -> rows of this step
    tr.set_observer([&](std::string_view name, int, std::span<const float> v) {
      auto& rows = seen[std::string(name)];
      rows.insert(rows.end(), v.begin(), v.end());
    });
    llm::Batch batch;
    for (size_t i = 0; i < prompt.size(); ++i)
      batch.add(prompt[i], static_cast<int>(i), 0, i + 1 == prompt.size());
    for (size_t step = 0; step <= forced.size(); ++step) {
      if (step > 0) {
        batch.clear();
        batch.add(forced[step - 1], static_cast<int>(prompt.size() + step - 1), 0, true);
      }
      const auto logits = tr.forward(batch);
      const int32_t best = llm::argmax(logits);
      std::printf("step %zu: argmax %d (logit %.9g)\n", step, best, logits[best]);
      for (const auto& [name, rows] : seen) {
        const std::string path = out + "/s" + std::to_string(step) + "_" + name + ".bin";
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(rows.data()),
                static_cast<std::streamsize>(rows.size() * sizeof(float)));
        if (!f) throw llm::Error(path + ": cannot write");
      }
      seen.clear();
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
