// llm chat — a conversation with the model in the terminal, through its chat template.
// Options: the table at the end (`llm chat --help`), llama.cpp's names.
//
// Reads stdin line by line (piped or typed); each line is a user turn, answered as a stream.
// `/reset` forgets the conversation, `/exit` or the end of input quits (exit 0). Turns run on
// chapter 7's engine, so each new turn finds the conversation so far in the prefix cache and
// only its new tokens are computed. When the conversation outgrows the context, the oldest turns
// are dropped (said on stderr).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "args.h"
#include "llm/batching/engine.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"

namespace llm::cli {
namespace {

int run_chat(Args& args) {
  const std::string model_path = args.required("--model");
  const std::string system = args.value("--system-prompt").value_or("");
  const int n_predict = args.get_int("--n-predict");
  const int ctx_arg = args.get_int("--ctx-size");
  // A random seed unless -s is given, printed below so a conversation can be replayed.
  const SamplerConfig sc = read_sampling(args);
  const int threads = args.get_threads();
  const std::string device = args.get("--device");
  args.finish();
  if (n_predict < 1 || ctx_arg < 16) throw Error("-n must be positive and -c at least 16");

  const LoadedModel lm = load_model(model_path);
  if (!lm.tokenizer || lm.chat_template.empty())
    throw Error(model_path + ": llm chat needs a model with a tokenizer and a chat template");
  const int ctx = std::min(ctx_arg, lm.model->config.max_seq_len);
  Registry reg;
  register_loading(reg);
  const DeviceBackend backend = make_device_backend(device, batch_invariant_kernels(reg), threads,
                                                    /*batch_invariant=*/true);
  PagedKvOptions kv;
  kv.memory = backend.kv_memory.get();
  kv.max_seqs = 2;
  kv.max_tokens = ctx;
  kv.n_blocks = 2 * ((ctx + kv.block_size - 1) / kv.block_size);  // a turn and the cached last
  PagedKvCache cache(lm.model->config, kv);
  Transformer model(*lm.model, *backend.backend, cache, 256);
  Engine engine(model, cache, lm.tokenizer.get());
  std::fprintf(stderr,
               "chat: %s, context %d, seed %llu — type /reset to start over, /exit to quit\n",
               model_path.c_str(), ctx, static_cast<unsigned long long>(sc.seed));

  std::vector<ChatMessage> history;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "/exit") break;
    if (line == "/reset") {
      history.clear();
      std::fprintf(stderr, "chat: conversation cleared\n");
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    history.push_back({"user", line});
    // The prompt: system + the turns that fit, leaving room for the answer.
    std::vector<int32_t> prompt;
    for (;;) {
      std::vector<ChatMessage> msgs;
      if (!system.empty()) msgs.push_back({"system", system});
      msgs.insert(msgs.end(), history.begin(), history.end());
      prompt =
          lm.tokenizer->encode(render_chat(lm, msgs), {.add_bos = true, .parse_special = true});
      if (static_cast<int>(prompt.size()) + std::min(n_predict, ctx / 4) < ctx) break;
      if (history.size() <= 1) break;
      history.erase(history.begin(), history.begin() + 2);  // the oldest user/assistant pair
      std::fprintf(stderr, "chat: the context is full; dropped the oldest turn\n");
    }
    if (static_cast<int>(prompt.size()) >= ctx) {
      std::fprintf(stderr, "chat: that message alone (%zu tokens) does not fit the context of %d\n",
                   prompt.size(), ctx);
      history.pop_back();
      continue;
    }
    Request r;
    r.prompt = prompt;
    r.params.sampler = sc;
    r.params.sampler.seed = sc.seed + history.size();
    r.params.max_tokens = std::min(n_predict, ctx - static_cast<int>(prompt.size()));
    r.params.stop_ids = lm.tokenizer->stop_ids();
    std::string answer;
    engine.submit(r, [&](const TokenEvent& e) {
      answer += e.text;
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
      std::fflush(stdout);
    });
    engine.run_until_idle();
    std::printf("\n");
    std::fflush(stdout);
    history.push_back({"assistant", answer});
  }
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    {"-sys|--system-prompt", "TEXT", "the system prompt", "the chat template's"},
    {"-n|--n-predict", "N", "most tokens per answer", "512"},
    {"-c|--ctx-size", "N", "context in tokens, the model's at most", "4096"},
    kTempOption,
    kTopKOption,
    kTopPOption,
    kMinPOption,
    kRepeatPenaltyOption,
    kRepeatLastNOption,
    kSeedOption,
    kThreadsOption,
    kDeviceOption,
};

}  // namespace

extern const Command kChat{"chat",
                           "a conversation through the model's chat template: stdin line by "
                           "line, /reset, /exit",
                           "-m FILE [options]", kOptions, &run_chat};

}  // namespace llm::cli
