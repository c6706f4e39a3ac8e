// llm kv-trace — watch the paged KV cache work: a scripted set of requests arrives, shares a
// prefix, forks and finishes, and after each step the pool and the block tables are drawn.
//
//   llm kv-trace -m FILE [--blocks N] [--block-size N] [-t N]
//
// The pool is one row of cells, one per block:
//   A..Z  in use by one sequence of that request     *  shared (reference count > 1)
//   c     cached: free, but holds a named prefix block  .  free
// Script: A and B share a 40-token "system prompt"; B arrives two steps after A and takes A's
// full prompt blocks from the prefix cache; C asks for n = 2 samples, whose prompt blocks are
// shared until each sample writes into the last one (copy-on-write); A finishes first, and its
// blocks stay cached for later prompts.
#include <cstdio>
#include <string>

#include "args.h"
#include "llm/batching/engine.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"

namespace llm::cli {
namespace {

std::vector<int32_t> tokens_of(const LoadedModel& lm, const std::string& text, int fallback_seed,
                               int n) {
  if (lm.tokenizer) return lm.tokenizer->encode(text);
  std::vector<int32_t> ids;  // no tokenizer: stand-in ids
  for (int i = 0; i < n; ++i)
    ids.push_back((fallback_seed * 131 + i * 17) % (lm.model->config.vocab_size - 3) + 3);
  return ids;
}

void draw(const PagedKvCache& cache, const Scheduler& sched, const std::string& what) {
  const BlockManager& m = cache.manager();
  std::vector<char> cell(static_cast<size_t>(m.n_blocks()), '.');
  for (int b = 0; b < m.n_blocks(); ++b) {
    if (m.ref_count(b) > 1)
      cell[static_cast<size_t>(b)] = '*';
    else if (m.ref_count(b) == 0 && m.named(b))
      cell[static_cast<size_t>(b)] = 'c';
  }
  const auto seqs = sched.running();
  for (const Sequence* s : seqs)
    for (int b : cache.block_table(s->slot))
      if (m.ref_count(b) == 1)
        cell[static_cast<size_t>(b)] = static_cast<char>('A' + s->request - 1);
  const KvStats st = cache.stats();
  std::printf("%s\n  pool [", what.c_str());
  for (size_t i = 0; i < cell.size(); ++i) std::printf("%s%c", i && i % 8 == 0 ? " " : "", cell[i]);
  std::printf("]  used %d  cached %d  free %d  fragmentation %.0f%%  prefix hits %lld/%lld\n",
              st.blocks_used, st.blocks_cached, st.blocks_free, 100 * st.fragmentation,
              static_cast<long long>(st.prefix_hit), static_cast<long long>(st.prefix_queried));
  for (const Sequence* s : seqs) {
    std::printf("  %c%d  %3d tokens (%3d computed) |", static_cast<char>('A' + s->request - 1),
                s->sample, static_cast<int>(s->tokens.size()), s->computed);
    for (int b : cache.block_table(s->slot))
      std::printf(" %2d%s", b, m.ref_count(b) > 1 ? "*" : " ");
    std::printf("\n");
  }
}

int run_kv_trace(Args& args) {
  const std::string path = args.required("--model");
  const int n_blocks = args.get_int("--blocks");
  const int block_size = args.get_int("--block-size");
  const int threads = args.get_threads();
  args.finish();
  if (n_blocks < 8 || block_size < 1) throw Error("--blocks must be >= 8, --block-size >= 1");
  LoadedModel lm = load_model(path);
  Registry reg;
  register_loading(reg);
  CpuBackend backend(batch_invariant_kernels(reg), threads);
  PagedKvOptions o;
  o.n_blocks = n_blocks;
  o.block_size = block_size;
  o.max_seqs = 8;
  o.max_tokens = std::min(lm.model->config.max_seq_len, n_blocks * block_size);
  PagedKvCache cache(lm.model->config, o);
  Transformer model(*lm.model, backend, cache, 64);
  EngineConfig cfg;
  cfg.scheduler.max_batch_tokens = 32;  // small steps: prefill shows up in chunks
  Engine engine(model, cache, lm.tokenizer.get(), cfg);

  const std::string system =
      "You are a helpful assistant. You answer briefly and you never make things up. If you "
      "do not know something, you say so plainly. You write in short sentences, you avoid "
      "jargon, and you are kind to everyone who asks you a question.";
  const auto request = [&](const std::string& question, int seed, int n, int max_tokens) {
    Request r;
    r.prompt = tokens_of(lm, system + " " + question, 1, 40);
    if (!lm.tokenizer)
      for (const int32_t id : tokens_of(lm, question, seed, 10)) r.prompt.push_back(id);
    r.params.n = n;
    r.params.max_tokens = max_tokens;
    r.params.sampler.temperature = n > 1 ? 0.8f : 0.0f;
    r.params.sampler.seed = static_cast<uint64_t>(seed);
    return r;
  };
  const auto submit = [&](Request r, const std::string& what) {
    const uint64_t id = engine.submit(std::move(r), [&](const TokenEvent& e) {
      if (e.finished)
        std::printf("  -> %c%d finished (%s) after %d tokens; its blocks are released\n",
                    static_cast<char>('A' + e.request - 1), e.sample, finish_reason_name(e.reason),
                    e.n_generated);
    });
    std::printf("\n== request %c arrives: %s\n", static_cast<char>('A' + id - 1), what.c_str());
  };
  std::printf(
      "KV pool: %d blocks of %d tokens, %.1f KiB per token (%s)\n", n_blocks, block_size,
      static_cast<double>(PagedKvCache::bytes_per_token(lm.model->config, cache.dtype())) / 1024,
      std::string(dtype_name(cache.dtype())).c_str());
  submit(request("What is the capital of France?", 2, 1, 24), "the system prompt + a question");
  int step = 0;
  const auto run = [&](int steps) {
    for (int i = 0; i < steps && engine.step(); ++i)
      draw(cache, engine.scheduler(), "step " + std::to_string(++step));
  };
  run(3);
  submit(request("Name three colours.", 3, 1, 16),
         "the same system prompt: its full blocks come from the prefix cache");
  run(3);
  submit(request("Tell me a story.", 4, 2, 12), "n = 2 samples: both share the prompt's blocks");
  run(1000);
  std::printf("\nall requests done: every block is free or cached (named, reusable)\n");
  draw(cache, engine.scheduler(), "end");
  return 0;
}

const Option kOptions[] = {
    kModelOption,
    {"--blocks", "N", "blocks in the KV pool (at least 8)", "32"},
    {"--block-size", "N", "tokens per block", "16"},
    kThreadsOption,
};

}  // namespace

extern const Command kKvTrace{
    "kv-trace", "watch the paged KV cache share, fork and free blocks as scripted requests run",
    "-m FILE [options]", kOptions, &run_kv_trace};

}  // namespace llm::cli
