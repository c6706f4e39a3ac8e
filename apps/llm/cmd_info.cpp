// llm info --model FILE [--tokenizer FILE] [--tensors]: what a model file holds — format,
// hyper-parameters, tensors by dtype (and one by one with --tensors), tokenizer, chat template.
#include <cstdio>
#include <map>
#include <sstream>

#include "args.h"
#include "llm/config/model_config.h"
#include "llm/loading/load_model.h"

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

int run_info(Args& args) {
  const std::string path = args.required("--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  const bool each = args.has("--tensors");
  args.finish();
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
  return 0;
}

}  // namespace

extern const Command kInfo{"info", "info --model FILE [--tokenizer FILE] [--tensors]", &run_info};

}  // namespace llm::cli
