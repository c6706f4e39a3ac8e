// llm info -m FILE: what a model file holds —
// format, hyper-parameters, tensors by dtype (and one by one with --tensors), tokenizer, chat
// template; with --kernels, the kernel each op runs on it and how many calls fell back.
// llm info --cpu: the CPU features found and the variant chosen for every op.
#include <cstdio>
#include <map>
#include <sstream>

#include "args.h"
#include "llm/config/model_config.h"
#include "llm/cuda/cuda_backend.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/simd/cpu_features.h"
#include "llm/transformer/backend.h"
#include "llm/transformer/transformer.h"

namespace llm::cli {
namespace {

double mib(double bytes) {
  return bytes / (1024.0 * 1024.0);
}

std::string with_commas(uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void print_tensors(const Checkpoint& c, bool each) {
  struct Totals {
    int count = 0;
    uint64_t params = 0, bytes = 0;
  };
  std::map<std::string, Totals> by_dtype;
  Totals all;
  for (const auto& [name, t] : c.tensors) {
    Totals& d = by_dtype[std::string(dtype_name(t.dtype()))];
    for (Totals* x : {&d, &all}) {
      ++x->count;
      x->params += static_cast<uint64_t>(t.numel());
      x->bytes += t.nbytes();
    }
  }
  std::printf(
      "tensors: %d, %s parameters, %.2f MiB (%.2f bits per weight)\n", all.count,
      with_commas(all.params).c_str(), mib(static_cast<double>(all.bytes)),
      all.params ? 8.0 * static_cast<double>(all.bytes) / static_cast<double>(all.params) : 0.0);
  for (const auto& [dt, x] : by_dtype)
    std::printf("  %-5s %4d tensors %14s params %10.2f MiB\n", dt.c_str(), x.count,
                with_commas(x.params).c_str(), mib(static_cast<double>(x.bytes)));
  if (!each) return;
  // In file order for GGUF; otherwise by name.
  std::vector<std::string> names;
  if (c.gguf)
    for (const GgufTensorInfo& i : c.gguf->tensor_infos()) names.push_back(i.name);
  else
    for (const auto& [n, t] : c.tensors) names.push_back(n);
  for (const std::string& n : names) {
    const Tensor& t = c.tensors.at(n);
    std::printf("  %-32s %-5s %-14s %10zu bytes\n", n.c_str(),
                std::string(dtype_name(t.dtype())).c_str(), t.shape().str().c_str(), t.nbytes());
  }
}

void print_template(const std::string& tmpl) {
  if (tmpl.empty()) {
    std::printf("chat template: none\n");
    return;
  }
  std::istringstream in(tmpl);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::printf("chat template: %zu line%s, %zu bytes\n", lines.size(), lines.size() == 1 ? "" : "s",
              tmpl.size());
  for (size_t i = 0; i < lines.size() && i < 5; ++i) {
    const std::string& l = lines[i];
    std::printf("  | %s%s\n", l.substr(0, 160).c_str(), l.size() > 160 ? " ..." : "");
  }
  if (lines.size() > 5)
    std::printf("  | ... (%zu more line%s)\n", lines.size() - 5, lines.size() == 6 ? "" : "s");
}

// --cpu: the features found and, for every op, the variants registered and the one chosen.
void print_cpu_and_kernels() {
  const CpuFeatures& f = cpu_features();
  std::printf("cpu: %s\nfeatures: %s\nphysical cores: %d\n", f.brand.c_str(), f.summary().c_str(),
              ThreadPool::physical_cores());
  std::printf("cuda: %s\n", cuda::device_info().summary().c_str());
  Registry reg;
  register_loading(reg);
  const Kernels k = Kernels::select(reg);
  std::printf("\n%-20s %-14s %s\n", "op", "chosen", "registered (* = usable here)");
  for (const std::string& op : reg.ops()) {
    if (op.starts_with("to_f32/") || op.starts_with("from_f32/") || op.starts_with("vec_dot/"))
      continue;  // codecs and dot products: building blocks, not ops of the forward pass
    std::string all;
    for (const KernelEntry* e : reg.variants(op))
      all += " " + e->variant + (e->usable() ? "*" : "");
    const auto it = k.chosen.find(op);
    std::printf("%-20s %-14s%s\n", op.c_str(), it == k.chosen.end() ? "-" : it->second.c_str(),
                all.c_str());
  }
}

// --kernels with a model: prepares every weight and runs an 8-token prompt and one decoded
// token, then prints each op's variant, calls and fallbacks.
void print_model_kernels(const std::string& path, const std::string& tok_path, int threads) {
  const LoadedModel lm = load_model(path, tok_path);
  Registry reg;
  register_loading(reg);
  CpuBackend backend(Kernels::select(reg), threads);
  ScratchKvCache cache(lm.model->config, 1, 16);
  Transformer tr(*lm.model, backend, cache, 8);
  Batch b;
  for (int i = 0; i < 8; ++i) b.add(i % lm.model->config.vocab_size, i, 0, i == 7);
  tr.forward(b);
  b.clear();
  b.add(1 % lm.model->config.vocab_size, 8, 0, true);
  tr.forward(b);
  std::printf("\nkernels (%d threads; an 8-token prompt and one decoded token):\n", threads);
  std::fflush(stdout);
  print_kernel_stats(backend, stdout);
}

int run_info(Args& args) {
  const bool cpu = args.has("--cpu");
  const bool kernels = args.has("--kernels");
  const int threads = args.get_threads();
  const auto model = args.value("--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  const bool each = args.has("--tensors");
  args.finish();
  if (cpu || (kernels && !model)) {
    print_cpu_and_kernels();
    if (!model) return 0;
  }
  if (!model) throw Error("option --model (-m) is required (or give --cpu / --kernels alone)");
  const std::string path = *model;
  if (path.ends_with("config.json")) {  // a bare Hugging Face config, as in chapter 1
    std::printf("config: %s\n", ModelConfig::from_hf_config_json(path).summary().c_str());
    return 0;
  }
  const Checkpoint c = open_checkpoint(path, tok_path);
  std::printf("file: %s\n", path.c_str());
  std::printf("format: %s", model_format_name(c.format));
  if (c.gguf) {
    const GgufFile& g = *c.gguf;
    std::printf(" v%u, %zu bytes (%.2f MiB), %zu metadata keys, alignment %llu, data at byte %zu",
                g.metadata().version(), g.file_size(), mib(static_cast<double>(g.file_size())),
                g.metadata().entries().size(), static_cast<unsigned long long>(g.alignment()),
                g.data_offset());
    if (auto name = g.metadata().opt_string("general.name"))
      std::printf("\nname: %s", name->c_str());
    if (auto ft = g.metadata().opt_int("general.file_type"))
      std::printf(" (file type %lld)", static_cast<long long>(*ft));
  }
  std::printf("\nconfig: %s\n", c.config.summary().c_str());
  print_tensors(c, each);
  const std::unique_ptr<Tokenizer> tok = load_checkpoint_tokenizer(c);
  if (tok) {
    std::printf("tokenizer: %s\n", tok->describe().c_str());
    const auto stops = tok->stop_ids();
    std::printf("  bos %d, eos %d, stop ids:", tok->bos_id(), tok->eos_id());
    for (int32_t id : stops) std::printf(" %d (%s)", id, tok->piece(id).c_str());
    std::printf("\n");
  } else {
    std::printf("tokenizer: none%s\n",
                c.format == ModelFormat::Llama2c ? " (give --tokenizer tok512.bin)" : "");
  }
  print_template(c.chat_template);
  if (kernels) print_model_kernels(path, tok_path, threads);
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    kTokenizerOption,
    {"--tensors", "", "list every tensor: name, type, shape, bytes", ""},
    {"--kernels", "", "the kernel each op runs on the model (alone: on this CPU)", ""},
    {"--cpu", "", "the CPU's features and every op's registered and chosen variants", ""},
    kThreadsOption,
};

}  // namespace

extern const Command kInfo{"info",
                           "what a model file holds: format, hyper-parameters, tensors, "
                           "tokenizer, chat template",
                           "-m FILE [options]  |  llm info --cpu  |  llm info --kernels", kOptions,
                           &run_info};

}  // namespace llm::cli
