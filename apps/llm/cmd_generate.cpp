// llm generate — text from a model: the generation loop of chapter 4 on any model file. The
// options are the table at the end (`llm generate --help` prints it); llama.cpp's names work.
//
// stdout gets only the generated continuation (or its ids with --print-ids); stderr gets the
// prompt and generation speeds.
#include <cstdio>
#include <cstdlib>

#include "args.h"
#include "llm/loading/chat_template.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/parallel/tensor_parallel.h"
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
  const std::string model_path = args.required("--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  auto prompt_text = args.value("--prompt");
  const auto prompt_file = args.value("--file");
  const auto prompt_ids = args.value("--prompt-ids");
  const bool chat = args.has("--chat");
  const int n = args.get_int("--n-predict");
  SamplerConfig sc = read_sampling(args);
  sc.presence_penalty = args.get_float("--presence-penalty");
  sc.frequency_penalty = args.get_float("--frequency-penalty");
  const bool no_kv = args.has("--no-kv-cache");
  const bool print_ids = args.has("--print-ids");
  const bool ignore_eos = args.has("--ignore-eos");
  const auto stop = args.value("--stop");
  const int ctx_arg = args.opt_int("--ctx-size").value_or(0);
  const auto attention = args.value("--attention");
  const int threads = args.get_threads();
  const bool reference = args.has("--reference");
  const bool show_kernels = args.has("--kernels");
  const std::string kv_type = args.get("--kv-type");
  const std::optional<int> tp_given = args.opt_int("--tp");  // under mpirun: the job's size
  const int tp = tp_given.value_or(1);
  const std::string tp_backend = args.get("--tp-backend");
  const std::string device = args.get("--device");
  args.finish();
  const bool sharded = check_tp_options(tp, tp_backend, device);
  // Under mpirun only rank 0 speaks; the others load, shard and follow.
  const bool quiet_rank = tp_backend == "mpi" && parallel::MpiCommunicator::launched_by_mpirun() &&
                          std::getenv("OMPI_COMM_WORLD_RANK") &&
                          std::string(std::getenv("OMPI_COMM_WORLD_RANK")) != "0";

  if (prompt_text.has_value() + prompt_file.has_value() + prompt_ids.has_value() != 1)
    throw Error("give exactly one of --prompt, --file and --prompt-ids");
  if (prompt_file) {
    // As llama.cpp's -f: the file's text, less one final newline (an editor adds it).
    prompt_text = read_text_file(*prompt_file);
    if (prompt_text->ends_with('\n')) prompt_text->pop_back();
  }
  if (n < 0) throw Error("-n must not be negative");
  // The seed matters only when sampling; printed so that `-s N` replays the run.
  if (sc.temperature > 0 && !quiet_rank)
    std::fprintf(stderr, "seed: %llu\n", static_cast<unsigned long long>(sc.seed));

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
  // One rank, or chapter 11's sharded model: rank 0's transformer drives generate() either way.
  DeviceBackend backend;  // before the cache, which frees its pool through backend.kv_memory
  std::unique_ptr<PagedKvCache> cache;
  std::unique_ptr<Transformer> single;
  std::unique_ptr<parallel::ShardedModel> shards;
  if (sharded) {
    parallel::RankOptions ro;
    ro.threads = threads;  // shared by thread ranks; each MPI process's own
    ro.kernel_overrides = overrides;
    ro.kv = kv;
    shards = std::make_unique<parallel::ShardedModel>(model, tp_given.value_or(0), tp_backend, ro);
    if (!shards->leader()) {
      shards->follow();
      return 0;
    }
  } else {
    backend = make_device_backend(device, Kernels::select(registry, overrides), threads);
    kv.memory = backend.kv_memory.get();
    cache = std::make_unique<PagedKvCache>(model.config, kv);
    single = std::make_unique<Transformer>(model, *backend.backend, *cache);
  }
  Transformer& tr = shards ? shards->transformer() : *single;

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
  if (show_kernels) print_kernel_stats(tr.backend());
  // The tokens that went through the model: the prompt, and each generated one but the last.
  const int fed = res.n_prompt + std::max(0, static_cast<int>(res.ids.size()) - 1);
  if (shards) print_tp_report(*shards, model.config, fed, res.prompt_seconds + res.gen_seconds);
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    kTokenizerOption,
    {"-p|--prompt", "TEXT", "the prompt", ""},
    {"-f|--file", "FILE", "the prompt, read from a file (less one final newline)", ""},
    {"--prompt-ids", "IDS", "the prompt as token ids, \"1 2 3\"", ""},
    {"--chat", "", "put the prompt in the model's chat template, as a user turn", ""},
    {"-n|--n-predict|--max-tokens", "N", "tokens to generate", "128"},
    kTempOption,
    kTopKOption,
    kTopPOption,
    kMinPOption,
    kRepeatPenaltyOption,
    kRepeatLastNOption,
    {"--presence-penalty", "P", "subtracted once from every token already seen", "0"},
    {"--frequency-penalty", "F", "subtracted per earlier occurrence of a token", "0"},
    kSeedOption,
    {"-c|--ctx-size|--ctx", "N", "context in tokens", "the prompt + N"},
    {"--stop", "TEXT", "stop when the output contains TEXT", ""},
    {"--ignore-eos", "", "go on past the end-of-sequence tokens", ""},
    {"--no-kv-cache", "", "recompute the whole sequence every step (chapter 4)", ""},
    kKvTypeOption,
    {"--print-ids", "", "print the generated token ids instead of text", ""},
    kThreadsOption,
    kDeviceOption,
    kTpOption,
    kTpBackendOption,
    {"--reference", "", "the scalar reference kernels (equal to llama.cpp bit for bit)", ""},
    {"--kernels", "", "print each op's kernel variant, calls and fallbacks on stderr", ""},
    {"--attention", "VARIANT", "force one attention kernel variant", ""},
};

}  // namespace

extern const Command kGenerate{
    "generate", "text from a model: the continuation on stdout, the speeds on stderr",
    "-m FILE (-p TEXT | -f FILE | --prompt-ids IDS) [options]", kOptions, &run_generate};

}  // namespace llm::cli
