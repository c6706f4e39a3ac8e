// llm perplexity — how well a model predicts a text, and how far a quantized model drifts.
//
//   llm perplexity --model FILE [--tokenizer FILE] --text-file F [--ctx N] [--kl-base FILE]
//                  [--threads N]
//
// The text is tokenized (with BOS) and cut into windows of --ctx tokens (default: the model's
// context, at most 512). Within a window every token after the first is scored:
// NLL = −log softmax(logits)[next token]; perplexity = exp(mean NLL). With --kl-base, a second
// model (usually the f32 original) runs on the same windows and we report the mean
// KL(base ‖ model) of the next-token distributions, and how often the two argmaxes agree.
#include <cmath>
#include <cstdio>
#include <memory>

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
  std::unique_ptr<PagedKvCache> cache;
  std::unique_ptr<CpuBackend> backend;
  std::unique_ptr<Transformer> tr;
  Runner(const std::string& path, const std::string& tok, int ctx, const Registry& reg, int threads,
         const std::string& kv_type = "f16")
      : lm(load_model(path, tok)) {
    PagedKvOptions o;
    o.max_seqs = 1;
    o.max_tokens = ctx;
    o.n_blocks = (ctx + o.block_size - 1) / o.block_size;
    set_kv_type(o, kv_type);
    cache = std::make_unique<PagedKvCache>(lm.model->config, o);
    backend = std::make_unique<CpuBackend>(Kernels::select(reg), threads);
    tr = std::make_unique<Transformer>(*lm.model, *backend, *cache, kChunk);
  }
};

int run_perplexity(Args& args) {
  const std::string model_path = args.required("--model");
  const std::string tok_path = args.value("--tokenizer").value_or("");
  const std::string text_path = args.required("--text-file");
  const int ctx_arg = args.get_int("--ctx", 0);
  const auto kl_base = args.value("--kl-base");
  const int threads = args.get_threads();
  const std::string kv_type = args.value("--kv-type").value_or("f16");
  args.finish();

  Registry reg;
  register_loading(reg);
  LoadedModel probe = load_model(model_path, tok_path);
  if (!probe.tokenizer) throw Error(model_path + ": no tokenizer (give --tokenizer FILE)");
  const int ctx = ctx_arg > 0 ? ctx_arg : std::min(probe.model->config.max_seq_len, 512);
  if (ctx < 2 || ctx > probe.model->config.max_seq_len)
    throw Error("--ctx must be in 2.." + std::to_string(probe.model->config.max_seq_len));
  const auto file = MappedFile::open(text_path);
  const std::string text(reinterpret_cast<const char*>(file->data()), file->size());
  const auto tokens = probe.tokenizer->encode(text, {.add_bos = true});
  if (tokens.size() < 2) throw Error(text_path + ": too short to score (fewer than 2 tokens)");

  Runner model(model_path, tok_path, ctx, reg, threads, kv_type);
  std::unique_ptr<Runner> base;
  if (kl_base) {
    base = std::make_unique<Runner>(*kl_base, tok_path, ctx, reg, threads);
    if (base->lm.model->config.vocab_size != model.lm.model->config.vocab_size)
      throw Error("--kl-base: the two models have different vocabularies");
  }
  const int vocab = model.lm.model->config.vocab_size;

  double nll = 0, kl = 0;
  long scored = 0, agree = 0;
  std::vector<double> lp, lq;
  Batch batch;
  for (size_t w = 0; w + 1 < tokens.size(); w += static_cast<size_t>(ctx)) {
    const size_t end = std::min(tokens.size(), w + static_cast<size_t>(ctx));
    for (size_t c = w; c < end; c += kChunk) {
      batch.clear();
      const size_t cend = std::min(end, c + kChunk);
      for (size_t i = c; i < cend; ++i)
        batch.add(tokens[i], static_cast<int>(i - w), 0, i + 1 < end);  // predicts tokens[i+1]
      const auto lm = model.tr->forward(batch);
      std::vector<float> lb;
      if (base) {
        const auto b = base->tr->forward(batch);
        lb.assign(b.begin(), b.end());
      }
      for (size_t i = c, row = 0; i < cend && i + 1 < end; ++i, ++row) {
        const auto logits =
            lm.subspan(row * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
        log_softmax(logits, lq);
        nll -= lq[static_cast<size_t>(tokens[i + 1])];
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
      }
    }
  }
  const double kv_bytes = static_cast<double>(model.cache->stats().bytes_per_token);
  std::printf("model: %s\n", model_path.c_str());
  std::printf("tokens scored: %ld (windows of %d)\n", scored, ctx);
  std::printf("perplexity: %.4f (mean NLL %.5f)\n", std::exp(nll / scored), nll / scored);
  if (base)
    std::printf("KL(base || model): %.6f nats/token, same argmax: %.2f%% (base: %s)\n", kl / scored,
                100.0 * agree / scored, kl_base->c_str());
  std::printf("weights: %.2f MiB read per token; KV cache: %.0f bytes per token (%s)\n",
              model.lm.model->weight_bytes() / 1048576.0, kv_bytes, kv_type.c_str());
  return 0;
}

}  // namespace

extern const Command kPerplexity{
    "perplexity",
    "perplexity --model FILE [--tokenizer FILE] --text-file F [--ctx N] [--kl-base FILE] "
    "[--kv-type f16|f32|q8_0] [--threads N]",
    &run_perplexity};

}  // namespace llm::cli
