// llm generate — text from a model: the generation loop of chapter 4 on any model file.
//
//   llm generate --model FILE [--tokenizer FILE] (--prompt S | --prompt-ids "1 2 3") [-n N]
//                [--chat] [--temperature T --top-k K --top-p P --min-p M --repeat-penalty R
//                 --presence-penalty P --frequency-penalty F --seed S] [--no-kv-cache]
//                [--print-ids] [--ignore-eos] [--stop S] [--ctx N] [--attention VARIANT]
//                [--threads N] [--reference] [--kernels]
// --threads (-t): the kernels' threads (default: the physical cores); --reference: the scalar
// reference kernels (llama.cpp's numbers bit for bit); --kernels: per-op variants and counts.
//
// stdout gets only the generated continuation (or its ids with --print-ids); stderr gets the
// prompt and generation speeds.
#include <cstdio>

#include "args.h"
#include "llm/loading/chat_template.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/quant/kv_codec.h"
#include "llm/transformer/generator.h"

namespace llm::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids = parse_token_ids(s, "--prompt-ids");
  if (ids.empty()) throw Error("--prompt-ids: no ids given");
  return ids;
}

int run_generate(Args& args) {
  const std::string model_path = args.required("-m|--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  const auto prompt_text = args.value("-p|--prompt");
  const auto prompt_ids = args.value("--prompt-ids");
  const bool chat = args.has("--chat");
  const int n = args.get_int("-n|--max-tokens|--n-predict", 128);
  SamplerConfig sc;
  sc.temperature = args.get_float("--temp|--temperature", sc.temperature);
  sc.top_k = args.get_int("--top-k", sc.top_k);
  sc.top_p = args.get_float("--top-p", sc.top_p);
  sc.min_p = args.get_float("--min-p", sc.min_p);
  sc.repeat_penalty = args.get_float("--repeat-penalty", sc.repeat_penalty);
  sc.presence_penalty = args.get_float("--presence-penalty", sc.presence_penalty);
  sc.frequency_penalty = args.get_float("--frequency-penalty", sc.frequency_penalty);
  sc.penalty_last_n = args.get_int("--repeat-last-n", sc.penalty_last_n);
  sc.seed = args.get_u64("-s|--seed", 0);
  const bool no_kv = args.has("--no-kv-cache");
  const bool print_ids = args.has("--print-ids");
  const bool ignore_eos = args.has("--ignore-eos");
  const auto stop = args.value("--stop");
  const int ctx_arg = args.get_int("-c|--ctx|--ctx-size", 0);
  const auto attention = args.value("--attention");
  const int threads = args.get_threads();
  const bool reference = args.has("--reference");
  const bool show_kernels = args.has("--kernels");
  const std::string kv_type = args.value("--kv-type").value_or("f16");
  args.finish();

  if (prompt_text.has_value() == prompt_ids.has_value())
    throw Error("give exactly one of --prompt and --prompt-ids");
  if (n < 0) throw Error("-n must not be negative");
  check_sampling(sc);

  LoadedModel lm = load_model(model_path, tok_path);
  const Model& model = *lm.model;
  const Tokenizer* tok = lm.tokenizer.get();

  std::vector<int32_t> prompt;
  if (prompt_ids) {
    prompt = parse_ids(*prompt_ids);
  } else {
    if (!tok) throw Error(model_path + ": no tokenizer (give --tokenizer FILE, or --prompt-ids)");
    std::string text = *prompt_text;
    if (chat) {
      if (lm.chat_template.empty())
        throw Error(model_path + ": the model has no chat template (tokenizer.chat_template)");
      text = render_chat(lm, {{"user", text}});
    }
    // A chat prompt carries its own special tokens; parse them. BOS follows the vocabulary.
    prompt = tok->encode(text, {.add_bos = true, .parse_special = chat});
  }
  if (static_cast<int>(prompt.size()) > model.config.max_seq_len)
    throw Error("the prompt has " + std::to_string(prompt.size()) +
                " tokens, more than the model's context of " +
                std::to_string(model.config.max_seq_len));

  const int ctx =
      std::min(model.config.max_seq_len,
               ctx_arg > 0 ? ctx_arg : static_cast<int>(prompt.size()) + std::max(n, 1));
  Registry registry;
  register_loading(registry);
  std::map<std::string, std::string> overrides;
  if (attention) overrides["attention"] = *attention;
  if (reference) overrides["*"] = "ref";
  // Chapter 5's paged cache, sized for this one sequence; chapter 4's generate() runs on it as is.
  PagedKvOptions kv;
  kv.max_seqs = 1;
  kv.max_tokens = ctx;
  kv.n_blocks = (ctx + kv.block_size - 1) / kv.block_size;
  set_kv_type(kv, kv_type);
  PagedKvCache cache(model.config, kv);
  CpuBackend backend(Kernels::select(registry, overrides), threads);
  Transformer tr(model, backend, cache);

  GenerateOptions opt;
  opt.max_tokens = n;
  opt.sampler = sc;
  opt.use_kv_cache = !no_kv;
  if (tok && !ignore_eos) opt.stop_ids = tok->stop_ids();
  if (stop) opt.stop_strings.push_back(*stop);

  const bool stream_text = tok && !print_ids;
  const auto res = generate(tr, tok, prompt, opt, [&](int32_t, std::string_view text) {
    if (stream_text && !text.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!stream_text) {
    for (size_t i = 0; i < res.ids.size(); ++i) std::printf("%s%d", i ? " " : "", res.ids[i]);
  }
  std::printf("\n");
  std::fflush(stdout);  // the text before the statistics when both go to one terminal
  std::fprintf(stderr,
               "prompt: %d tokens, %.1f tok/s | generation: %zu tokens, %.1f tok/s | stop: %s\n",
               res.n_prompt, res.prompt_tok_s(), res.ids.size(), res.gen_tok_s(),
               stop_reason_name(res.reason));
  if (show_kernels) print_kernel_stats(backend);
  return 0;
}

}  // namespace

extern const Command kGenerate{
    "generate",
    "generate -m|--model FILE [--tokenizer FILE] (-p|--prompt S | --prompt-ids \"1 2 3\") "
    "[-n|--n-predict N] [--chat] [--temp|--temperature T --top-k K --top-p P --min-p M "
    "--repeat-penalty R --repeat-last-n N --presence-penalty P --frequency-penalty F "
    "-s|--seed S] [-c|--ctx-size N] [--stop S] [--ignore-eos] [--no-kv-cache] "
    "[--kv-type f16|f32|q8_0] [--print-ids] [-t|--threads N] [--reference] [--kernels] "
    "[--attention VARIANT]",
    &run_generate};

}  // namespace llm::cli
