// llm perplexity — how well a model predicts a text, and how far a quantized model drifts.
//
//   llm perplexity -m FILE -f TEXT [-c 512] [options: the table at the end]
//
// Computed as llama.cpp's llama-perplexity computes it, so the figures compare: the text is
// tokenized once (BOS first when the vocabulary uses one) and cut into non-overlapping chunks
// of --ctx tokens (default 512; the tail that does not fill a chunk is dropped); each chunk is
// a fresh sequence whose first token is replaced by BOS when the model adds one, and only the
// second half of each chunk is scored — every scored token sees at least ctx/2 tokens of
// context: NLL = −log softmax(logits)[next token]; perplexity = exp(mean NLL). The running
// estimate is printed per chunk on stderr with an ETA. With --kl-base, a second model
// (usually the f32 original) runs on the same chunks: the mean KL(base ‖ model) of the scored
// next-token distributions, and how often the two argmaxes agree. --json puts
// {"perplexity": X, "chunks": K, "tokens_scored": N, ...} last on stdout.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "args.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/quant/kv_codec.h"
#include "llm/transformer/backend.h"
#include "llm/transformer/transformer.h"

namespace llm::cli {
namespace {

constexpr int kChunk = 64;  // tokens per forward pass inside a window

// log-softmax of one row into `out` (double for a stable sum over large vocabularies).
void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  double mx = logits[0];
  for (float x : logits) mx = std::max(mx, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(x - mx);
  const double lse = mx + std::log(sum);
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lse;
}

struct Runner {
  LoadedModel lm;
  DeviceBackend backend;  // before the cache, which frees its pool through backend.kv_memory
  std::unique_ptr<PagedKvCache> cache;
  std::unique_ptr<Transformer> tr;
  Runner(const std::string& path, const std::string& tok, int ctx, const Registry& reg, int threads,
         const std::string& kv_type = "f16", const std::string& device = "cpu")
      : lm(load_model(path, tok)) {
    PagedKvOptions o;
    o.max_seqs = 1;
    o.max_tokens = ctx;
    o.n_blocks = (ctx + o.block_size - 1) / o.block_size;
    set_kv_type(o, kv_type);
    backend = make_device_backend(device, Kernels::select(reg), threads);
    o.memory = backend.kv_memory.get();
    cache = std::make_unique<PagedKvCache>(lm.model->config, o);
    tr = std::make_unique<Transformer>(*lm.model, *backend.backend, *cache, kChunk);
  }
};

int run_perplexity(Args& args) {
  const std::string model_path = args.required("--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  const std::string text_path = args.required("--file");
  const int ctx_arg = args.get_int("--ctx-size");
  const int max_chunks = args.opt_int("--chunks").value_or(-1);
  const auto kl_base = args.value("--kl-base");
  const int threads = args.get_threads();
  const std::string kv_type = args.get("--kv-type");
  const bool json = args.has("--json");
  const std::string device = args.get("--device");
  args.finish();

  Registry reg;
  register_loading(reg);
  LoadedModel probe = load_model(model_path, tok_path);
  if (!probe.tokenizer) throw Error(model_path + ": no tokenizer (give --tokenizer FILE)");
  const int ctx = ctx_arg;
  if (ctx < 4 || ctx > probe.model->config.max_seq_len)
    throw Error("-c must be in 4.." + std::to_string(probe.model->config.max_seq_len));
  const auto file = MappedFile::open(text_path);
  const std::string text(reinterpret_cast<const char*>(file->data()), file->size());
  const auto tokens = probe.tokenizer->encode(text, {.add_bos = true});
  const bool add_bos = probe.tokenizer->adds_bos();
  const int32_t bos = probe.tokenizer->bos_id();
  int n_chunks = static_cast<int>(tokens.size() / static_cast<size_t>(ctx));
  if (max_chunks >= 0) n_chunks = std::min(n_chunks, max_chunks);
  if (n_chunks < 1)
    throw Error(text_path + ": " + std::to_string(tokens.size()) +
                " tokens, fewer than one chunk of " + std::to_string(ctx) + " (lower -c)");

  Runner model(model_path, tok_path, ctx, reg, threads, kv_type, device);
  std::unique_ptr<Runner> base;
  if (kl_base) {
    base = std::make_unique<Runner>(*kl_base, tok_path, ctx, reg, threads, "f16", device);
    if (base->lm.model->config.vocab_size != model.lm.model->config.vocab_size)
      throw Error("--kl-base: the two models have different vocabularies");
  }
  const int vocab = model.lm.model->config.vocab_size;

  double nll = 0, kl = 0;
  long scored = 0, agree = 0;
  std::vector<double> lp, lq;
  Batch batch;
  const int first = ctx / 2;  // positions first..ctx-2 are scored, predicting first+1..ctx-1
  const auto t0 = std::chrono::steady_clock::now();
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    const size_t start = static_cast<size_t>(chunk) * static_cast<size_t>(ctx);
    model.cache->free(0);  // each chunk is a sequence of its own
    if (base) base->cache->free(0);
    for (int c = 0; c < ctx; c += kChunk) {
      batch.clear();
      const int cend = std::min(ctx, c + kChunk);
      for (int i = c; i < cend; ++i) {
        const int32_t t =
            i == 0 && add_bos && bos >= 0 ? bos : tokens[start + static_cast<size_t>(i)];
        batch.add(t, i, 0, i >= first && i + 1 < ctx);
      }
      const auto lm = model.tr->forward(batch);
      std::vector<float> lb;
      if (base) {
        const auto b = base->tr->forward(batch);
        lb.assign(b.begin(), b.end());
      }
      size_t row = 0;
      for (int i = c; i < cend; ++i) {
        if (!(i >= first && i + 1 < ctx)) continue;
        const int32_t next = tokens[start + static_cast<size_t>(i) + 1];
        log_softmax(lm.subspan(row * static_cast<size_t>(vocab), static_cast<size_t>(vocab)), lq);
        nll -= lq[static_cast<size_t>(next)];
        ++scored;
        if (base) {
          log_softmax(std::span<const float>(lb).subspan(row * static_cast<size_t>(vocab),
                                                         static_cast<size_t>(vocab)),
                      lp);
          double k = 0;
          size_t am_p = 0, am_q = 0;
          for (size_t v = 0; v < lp.size(); ++v) {
            k += std::exp(lp[v]) * (lp[v] - lq[v]);
            if (lp[v] > lp[am_p]) am_p = v;
            if (lq[v] > lq[am_q]) am_q = v;
          }
          kl += k;
          agree += am_p == am_q;
        }
        ++row;
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[%d/%d] perplexity %.4f (ETA %.0f s)\n", chunk + 1, n_chunks,
                 std::exp(nll / scored), secs / (chunk + 1) * (n_chunks - chunk - 1));
  }
  const double kv_bytes = static_cast<double>(model.cache->stats().bytes_per_token);
  std::printf("model: %s\n", model_path.c_str());
  std::printf("tokens scored: %ld (%d chunks of %d, the second half of each scored)\n", scored,
              n_chunks, ctx);
  std::printf("perplexity: %.4f (mean NLL %.5f)\n", std::exp(nll / scored), nll / scored);
  if (base)
    std::printf("KL(base || model): %.6f nats/token, same argmax: %.2f%% (base: %s)\n", kl / scored,
                100.0 * agree / scored, kl_base->c_str());
  std::printf("weights: %.2f MiB read per token; KV cache: %.0f bytes per token (%s)\n",
              model.lm.model->weight_bytes() / 1048576.0, kv_bytes, kv_type.c_str());
  if (json) {
    nlohmann::json j = {{"perplexity", std::exp(nll / scored)},
                        {"chunks", n_chunks},
                        {"tokens_scored", scored},
                        {"ctx", ctx},
                        {"mean_nll", nll / scored}};
    if (base) {
      j["kl_base"] = kl / scored;
      j["same_argmax"] = static_cast<double>(agree) / scored;
    }
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    kTokenizerOption,
    {"-f|--file|--text-file", "FILE", "the text to score", ""},
    {"-c|--ctx-size|--ctx", "N", "tokens per chunk; the second half of each is scored", "512"},
    {"--chunks", "N", "score the first N chunks only", "all"},
    {"--kl-base", "FILE", "a second model (the f32 original): KL(base || model), same argmax", ""},
    kKvTypeOption,
    {"--json", "", "a JSON summary as the last line of stdout", ""},
    kThreadsOption,
    kDeviceOption,
};

}  // namespace

extern const Command kPerplexity{
    "perplexity", "how well a model predicts a text, computed as llama-perplexity computes it",
    "-m FILE -f TEXT [options]", kOptions, &run_perplexity};

}  // namespace llm::cli
