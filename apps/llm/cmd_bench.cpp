// llm bench --ladder — the optimization ladder: one model through every step of the book.
// llm bench --concurrency — many requests at once: continuous against static batching.
//
//   llm bench --ladder -m FILE [-p N] [-n N] [--from chNN] [--json] [--plot F.png]
//   llm bench --concurrency 1,4,8,16 -m FILE [-p N] [-n N] [--shared-prefix N] [--json]
// (-p/-n are llama-bench's names for --prompt/--gen; the options: the table at the end.)
//
// Each rung runs the two tests of llama-bench -p 512 -n 128 on random token ids: a 512-token
// prompt in one batch (prompt tok/s, prefill) and 128 tokens generated from an empty context
// (generation tok/s, decode). It reports the ratio to the rung before, the share of the
// memory-bandwidth roofline measured in the same run (a streaming read of a buffer the size of
// the model's weights with the same threads), and generation after the prompt too (contexts
// 512..640: attention reads more of the KV cache). Rungs:
//   ch04  reference kernels, f32 weights, no KV cache (every step recomputes the sequence)
//   ch05  reference kernels, f32 weights, KV cache
//   ch06  reference kernels, the file's quantized weights
//   ch08  SIMD kernels on one thread, then SIMD + threads
//   ch07  chapter 7's engine over the SIMD + threads kernels: 16 streams at once (aggregate
//         generation tok/s of 16 concurrent requests, each generating --gen tokens)
// The slow rungs run a shorter prompt and fewer tokens and say so. Progress goes to stderr; the
// table (or JSON) to stdout.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_serving.h"
#include "llm/batching/engine.h"
#include "llm/cuda/cuda_backend.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/quant/kv_codec.h"
#include "llm/quant/quant.h"
#include "llm/simd/cpu_features.h"
#include "llm/simd/roofline.h"
#include "llm/transformer/generator.h"

namespace llm::cli {
namespace {

// Prompt tokens of each request in the serving benchmarks (the batched rung, --concurrency).
constexpr int kStreamPrompt = 32;

struct Rung {
  std::string name;
  bool f32 = false;  // weights dequantized to f32 (the chapter 4 model)
  bool kv_cache = true;
  bool reference = false;  // the scalar reference kernels
  int threads = 1;
  int prompt = 512, gen = 128;
  int streams = 0;    // > 0: the batched rung (that many concurrent requests)
  bool cuda = false;  // chapter 9's backend
  // results
  double prompt_tok_s = 0, gen_tok_s = 0, gen_after_prompt_tok_s = 0;
  double dispatches_per_token = 0, barriers_per_token = 0;  // thread pool, decoding
};

// The model with every weight dequantized to f32, as chapter 4 would load it.
std::shared_ptr<Model> f32_model(const Model& m) {
  TensorMap t = model_tensors(m);
  for (auto& [name, tensor] : t)
    if (tensor.dtype() != DType::F32) tensor = dequantize_tensor(tensor);
  return std::make_shared<Model>(Model::from_tensors(m.config, t, "f32 copy"));
}

// Two tests, as llama-bench runs pp512 and tg128: the prompt alone (prefill, one batch), then
// generation from an empty context (one random token, then `gen` greedy steps). A third run
// times generation after the prompt (contexts prompt..prompt+gen: attention has more to read).
void run_rung(Rung& r, const Model& model, const Registry& reg) {
  // The chapter's kernels; with CUDA, its backend wrapping them (the pool on the GPU).
  std::map<std::string, std::string> overrides;
  if (r.reference) overrides["*"] = "ref";
  DeviceBackend dev =
      make_device_backend(r.cuda ? "cuda" : "cpu", Kernels::select(reg, overrides), r.threads);
  Backend& backend = *dev.backend;
  std::vector<int32_t> prompt(static_cast<size_t>(r.prompt));
  std::mt19937 rng(42);
  for (int32_t& id : prompt)
    id = static_cast<int32_t>(rng() % static_cast<uint32_t>(model.config.vocab_size));
  if (r.streams > 0) {  // the engine, 16 requests of a 32-token prompt each
    PagedKvOptions o;
    o.max_seqs = r.streams;
    o.n_blocks = r.streams * ((kStreamPrompt + r.gen + 15) / 16 + 1);
    o.max_tokens = kStreamPrompt + r.gen + 1;
    o.memory = dev.kv_memory.get();
    PagedKvCache cache(model.config, o);
    Transformer tr(model, backend, cache, 512);
    const auto prompts = distinct_prompts(r.streams, kStreamPrompt, model.config.vocab_size, 7);
    run_continuous(tr, cache, {prompts.front()}, 4);  // warm-up
    const ServingResult s = run_continuous(tr, cache, prompts, r.gen);
    r.gen_tok_s = r.gen_after_prompt_tok_s = s.generation_tokens_per_s;
    return;
  }
  // ch05 onwards: chapter 5's paged cache (the ch04 rung recomputes: its scratch cache is reset
  // every step anyway).
  std::unique_ptr<KvCache> cache;
  if (r.kv_cache) {
    PagedKvOptions o;
    o.max_seqs = 1;
    o.max_tokens = r.prompt + r.gen + 1;
    o.n_blocks = (o.max_tokens + 15) / 16 + 1;
    o.memory = dev.kv_memory.get();
    cache = std::make_unique<PagedKvCache>(model.config, o);
  } else {
    cache = std::make_unique<ScratchKvCache>(model.config, 1, r.prompt + r.gen + 1);
  }
  Transformer tr(model, backend, *cache, std::max(r.prompt, 1));
  GenerateOptions opt;
  opt.max_tokens = r.gen + 1;  // gen forwards after the prompt's
  opt.sampler.temperature = 0;
  opt.use_kv_cache = r.kv_cache;
  // Prefill, and generation after the prompt.
  GenerateResult res = generate(tr, nullptr, prompt, opt);
  r.prompt_tok_s = res.prompt_seconds > 0 ? r.prompt / res.prompt_seconds : 0;
  r.gen_after_prompt_tok_s = res.gen_seconds > 0 ? r.gen / res.gen_seconds : 0;
  // Generation from an empty context (llama-bench's tg), counting the thread pool's
  // synchronizations per decoded token (the first token's forward subtracted).
  uint64_t d0 = 0, b0 = 0;
  ThreadPool* pool = dev.cpu ? &dev.cpu->pool() : nullptr;  // none to count on the GPU
  res = generate(tr, nullptr, std::span<const int32_t>(prompt).first(1), opt,
                 [&](int32_t, std::string_view) {
                   if (pool && d0 == 0) {
                     d0 = pool->dispatches();
                     b0 = pool->barriers();
                   }
                   return true;
                 });
  r.gen_tok_s = res.gen_seconds > 0 ? r.gen / res.gen_seconds : 0;
  if (pool) {
    r.dispatches_per_token = static_cast<double>(pool->dispatches() - d0) / r.gen;
    r.barriers_per_token = static_cast<double>(pool->barriers() - b0) / r.gen;
  }
}

bool write_plot(const std::vector<Rung>& rungs, const Roofline& roof, const std::string& path,
                const std::string& title) {
  const std::string dat = path + ".dat", gp = path + ".gp";
  if (FILE* f = std::fopen(dat.c_str(), "w")) {
    for (const Rung& r : rungs)
      std::fprintf(f, "\"%s\" %.3f %.3f\n", r.name.c_str(), r.prompt_tok_s, r.gen_tok_s);
    std::fclose(f);
  } else {
    return false;
  }
  if (FILE* f = std::fopen(gp.c_str(), "w")) {
    std::fprintf(f,
                 "set terminal pngcairo size 1100,600 noenhanced\nset output '%s'\n"
                 "set title '%s'\nset style data histograms\nset style histogram clustered\n"
                 "set style fill solid 0.8 border -1\nset logscale y\nset ylabel 'tokens/s (log)'\n"
                 "set xtics rotate by -20\nset grid ytics\nset key top left\n"
                 "plot '%s' using 2:xtic(1) title 'prompt (prefill)', '' using 3 title "
                 "'generation (decode)', %.3f with lines dt 2 lw 2 title 'decode roofline'\n",
                 path.c_str(), title.c_str(), dat.c_str(), roof.tokens_per_s());
    std::fclose(f);
  } else {
    return false;
  }
  const int rc = std::system(("gnuplot '" + gp + "'").c_str());
  std::remove(dat.c_str());
  std::remove(gp.c_str());
  return rc == 0;
}

// --concurrency: the serving benchmark, continuous batching and the static baseline.
int run_concurrency(Args& args, const std::string& list) {
  const std::string path = args.required("--model");
  const int threads = args.get_threads();
  const int n_prompt = args.opt_int("--prompt").value_or(kStreamPrompt);
  const int n_gen = args.get_int("--gen");
  const int kv_mib = args.opt_int("--kv-memory").value_or(0);  // 0: the default budget
  const std::string kv_type = args.get("--kv-type");
  const int shared = args.get_int("--shared-prefix");
  const bool json = args.has("--json");
  const std::string device = args.get("--device");
  args.finish();
  std::vector<int> levels;
  for (const int n : parse_token_ids(list, "--concurrency")) {
    if (n < 1 || n > 256) throw Error("--concurrency: each level must be in 1..256");
    levels.push_back(n);
  }
  if (levels.empty()) throw Error("--concurrency: give levels, e.g. 1,4,8,16");
  if (threads < 1 || n_prompt < 1 || n_gen < 1 || kv_mib < 0 || shared < 0)
    throw Error("--threads, --prompt, --gen, --kv-memory and --shared-prefix must be positive");
  LoadedModel lm = load_model(path);
  const Model& model = *lm.model;
  if (shared + n_prompt + n_gen + 1 > model.config.max_seq_len)
    throw Error("--shared-prefix + --prompt + --gen exceed the model's context of " +
                std::to_string(model.config.max_seq_len));
  Registry reg;
  register_loading(reg);
  const DeviceBackend dev =
      make_device_backend(device, batch_invariant_kernels(reg), threads, /*batch_invariant=*/true);
  Backend& backend = *dev.backend;
  PagedKvOptions o;
  o.memory = dev.kv_memory.get();
  o.max_seqs = *std::max_element(levels.begin(), levels.end());
  set_kv_type(o, kv_type);
  o.memory_bytes = static_cast<size_t>(kv_mib) << 20;  // 0: the default budget
  PagedKvCache cache(model.config, o);
  Transformer tr(model, backend, cache, 512);
  std::fprintf(stderr, "bench: KV cache %d blocks of %d tokens (%.0f MiB), %d threads\n",
               cache.manager().n_blocks(), cache.block_size(),
               static_cast<double>(cache.bytes()) / (1 << 20), threads);
  // Warm-up. With --shared-prefix it carries the shared "system prompt", as a server that has
  // answered once holds it: requests arriving together all find it cached.
  const auto system = distinct_prompts(1, shared, model.config.vocab_size, 5).front();
  auto warm = distinct_prompts(1, n_prompt, model.config.vocab_size, 1);
  warm.front().insert(warm.front().begin(), system.begin(), system.end());
  run_continuous(tr, cache, warm, 4);
  nlohmann::json results = nlohmann::json::array();
  std::vector<std::pair<ServingResult, ServingResult>> rows;
  for (const int n : levels) {
    // Distinct prompts per level and mode: nothing comes from the prefix cache.
    auto cont = distinct_prompts(n, n_prompt, model.config.vocab_size, 100 + n);
    auto stat = distinct_prompts(n, n_prompt, model.config.vocab_size, 200 + n);
    if (shared > 0) {  // one "system prompt" in front of every request
      for (auto* set : {&cont, &stat})
        for (auto& p : *set) p.insert(p.begin(), system.begin(), system.end());
    }
    std::fprintf(stderr, "bench: %d concurrent requests of %d + %d tokens...\n", n, n_prompt,
                 n_gen);
    const ServingResult c = run_continuous(tr, cache, cont, n_gen);
    const ServingResult s = run_static(tr, cache, stat, n_gen);
    std::fprintf(stderr, "bench:   continuous %.1f tok/s, static %.1f tok/s\n",
                 c.generation_tokens_per_s, s.generation_tokens_per_s);
    rows.emplace_back(c, s);
    const auto fields = [](const ServingResult& r) {
      return nlohmann::json{{"generation_tokens_per_s", r.generation_tokens_per_s},
                            {"ttft_ms_p50", r.ttft_ms_p50},
                            {"ttft_ms_p99", r.ttft_ms_p99},
                            {"itl_ms_p50", r.itl_ms_p50},
                            {"itl_ms_p99", r.itl_ms_p99},
                            {"generated_tokens", r.tokens},
                            {"seconds", r.seconds}};
    };
    nlohmann::json j = fields(c);
    j["concurrency"] = n;
    j["sampling_fraction"] = c.sampling_fraction;
    j["kv"] = {{"fragmentation_mean", c.kv_fragmentation},
               {"blocks_peak", c.kv_blocks_peak},
               {"prefix_hit_rate", c.prefix_hit_rate}};
    j["static_batching"] = fields(s);
    results.push_back(j);
  }
  std::optional<PrefixTtft> prefix;
  if (shared > 0) {
    std::fprintf(stderr, "bench: time to first token with a cached %d-token prefix...\n", shared);
    prefix = measure_prefix_ttft(tr, cache, shared, n_prompt, 5);
  }
  const KvStats kv = cache.stats();
  if (json) {
    nlohmann::json j;
    j["model"] = path;
    j["threads"] = threads;
    j["kv_cache"] = {{"type", kv_type},
                     {"bytes_per_token", kv.bytes_per_token},
                     {"block_size", kv.block_size},
                     {"blocks", kv.blocks_total},
                     {"bytes", kv.bytes_total}};
    if (prefix)
      j["prefix_cache"] = {{"prefix_tokens", prefix->prefix_tokens},
                           {"ttft_ms_uncached", prefix->ttft_ms_uncached},
                           {"ttft_ms_cached", prefix->ttft_ms_cached}};
    j["shared_prefix_tokens"] = shared;
    j["prompt_tokens"] = n_prompt;
    j["generated_tokens_per_request"] = n_gen;
    j["cpu"] = cpu_features().brand;
    j["device"] = device == "cuda" ? cuda::device_info().summary() : "cpu";
    j["results"] = results;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s, %d threads, %s; prompts of %d tokens, %d generated each\n\n", path.c_str(),
              threads, cpu_features().brand.c_str(), n_prompt, n_gen);
  std::printf("KV cache: %s, %zu bytes per token, %d blocks of %d tokens (%.0f MiB)\n",
              kv_type.c_str(), kv.bytes_per_token, kv.blocks_total, kv.block_size,
              static_cast<double>(kv.bytes_total) / (1 << 20));
  if (shared > 0) std::printf("every prompt starts with the same %d tokens\n", shared);
  std::printf("\n%-11s %-11s %10s %8s %10s %10s %9s %9s %9s %8s\n", "concurrency", "batching",
              "gen tok/s", "x N=1", "ttft p50", "ttft p99", "itl p50", "itl p99", "KV frag",
              "prefix");
  const double base = rows.front().first.generation_tokens_per_s;
  for (const auto& [c, s] : rows)
    for (const auto& [name, r] : {std::pair{"continuous", c}, std::pair{"static", s}}) {
      std::printf("%-11d %-11s %10.1f %7.2fx %8.1fms %8.1fms %7.1fms %7.1fms", r.concurrency, name,
                  r.generation_tokens_per_s, base > 0 ? r.generation_tokens_per_s / base : 0,
                  r.ttft_ms_p50, r.ttft_ms_p99, r.itl_ms_p50, r.itl_ms_p99);
      if (std::string_view(name) == "continuous")  // the KV columns are the engine's
        std::printf(" %8.1f%% %7.0f%%\n", 100 * r.kv_fragmentation, 100 * r.prefix_hit_rate);
      else
        std::printf(" %9s %8s\n", "-", "-");
    }
  if (prefix)
    std::printf("\ntime to first token, %d-token prefix + %d: %.1f ms uncached, %.1f ms cached\n",
                prefix->prefix_tokens, n_prompt, prefix->ttft_ms_uncached, prefix->ttft_ms_cached);
  return 0;
}

int run_bench(Args& args) {
  if (const auto list = args.value("--concurrency")) return run_concurrency(args, *list);
  const bool ladder = args.has("--ladder");
  const std::string path = args.required("--model");
  const int threads = args.get_threads();
  const int n_prompt = args.opt_int("--prompt").value_or(512);
  const int n_gen = args.get_int("--gen");
  const bool json = args.has("--json");
  const auto plot = args.value("--plot");
  const std::string from = args.get("--from");
  const std::string device = args.get("--device");
  args.finish();
  if (device != "cpu" && device != "cuda")
    throw Error("--device " + device + ": expected cpu or cuda");
  if (!ladder) throw Error("give --ladder or --concurrency LIST");
  if (threads < 1 || n_prompt < 1 || n_gen < 1)
    throw Error("--threads, --prompt and --gen must be positive");

  LoadedModel lm = load_model(path);
  const Model& model = *lm.model;
  if (n_prompt + n_gen + 1 > model.config.max_seq_len)
    throw Error("--prompt + --gen exceed the model's context of " +
                std::to_string(model.config.max_seq_len));
  Registry reg;
  register_loading(reg);

  // The slow rungs take a shorter run: the scalar reference decodes a few tokens a second.
  const int short_prompt = std::min(n_prompt, 64), short_gen = std::min(n_gen, 16);
  std::vector<Rung> rungs = {
      {"ch04 reference f32, no KV cache", true, false, true, 1, std::min(n_prompt, 16),
       std::min(n_gen, 8)},
      {"ch05 reference f32 + KV cache", true, true, true, 1, short_prompt, short_gen},
      {"ch06 quantized reference", false, true, true, 1, short_prompt, short_gen},
      {"ch08 SIMD, 1 thread", false, true, false, 1, n_prompt, n_gen},
      {"ch08 SIMD + " + std::to_string(threads) + " threads", false, true, false, threads, n_prompt,
       n_gen},
      {"ch07 batched, 16 streams", false, true, false, threads, 0, n_gen, 16},
  };
  if (threads == 1) rungs.erase(rungs.end() - 2);
  if (device == "cuda") {  // chapter 9's rungs: one stream, then the batched aggregate
    rungs = {{"ch09 CUDA", false, true, false, threads, n_prompt, n_gen}};
    for (const int streams : {16, 64}) {
      rungs.push_back({"ch09 CUDA batched, " + std::to_string(streams) + " streams", false, true,
                       false, threads, 0, n_gen, streams});
    }
    for (Rung& r : rungs) r.cuda = true;
  }
  // --from chNN: start at that chapter's rung (the scalar rungs take minutes on a 1B model).
  while (device == "cpu" && !rungs.empty() && rungs.front().name.compare(0, from.size(), from) < 0)
    rungs.erase(rungs.begin());
  if (device == "cpu" && (rungs.empty() || rungs.front().name.compare(0, from.size(), from) != 0))
    throw Error("--from " + from + ": no such rung (ch04, ch05, ch06, ch08)");
  std::shared_ptr<Model> f32;
  for (Rung& r : rungs) {
    if (r.streams > 0)
      std::fprintf(stderr, "bench: %s (%d requests of %d + %d tokens at once)...\n", r.name.c_str(),
                   r.streams, kStreamPrompt, r.gen);
    else
      std::fprintf(stderr, "bench: %s (prompt %d, generate %d)...\n", r.name.c_str(), r.prompt,
                   r.gen);
    const Model* m = &model;
    if (r.f32) {
      if (!f32) f32 = f32_model(model);
      m = f32.get();
    }
    run_rung(r, *m, reg);
    std::fprintf(stderr,
                 "bench:   prompt %.1f tok/s, generation %.1f tok/s (%.1f after the prompt)\n",
                 r.prompt_tok_s, r.gen_tok_s, r.gen_after_prompt_tok_s);
  }

  ThreadPool pool(threads);
  // The price of one synchronization on this machine: an empty dispatch, and a barrier.
  const auto time_it = [&](auto&& f, int reps) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
  };
  const double dispatch_s = time_it([&] { pool.run([](int, int) {}); }, 20000);
  const double barrier_s = time_it(
                               [&] {
                                 pool.run([&](int, int) {
                                   for (int i = 0; i < 100; ++i) pool.barrier();
                                 });
                               },
                               200) /
                           100;
  Roofline roof;
  roof.bytes_per_token = model.weight_bytes();
  // The ceiling: the CPU's read bandwidth measured now, or the GPU's memory bandwidth.
  const cuda::DeviceInfo gpu = device == "cuda" ? cuda::device_info() : cuda::DeviceInfo{};
  roof.read_gb_per_s =
      device == "cuda" ? gpu.peak_gb_per_s : measure_read_gb_per_s(roof.bytes_per_token, pool);

  if (json) {
    nlohmann::json j;
    j["model"] = path;
    j["threads"] = threads;
    j["cpu"] = cpu_features().brand;
    j["device"] = device == "cuda" ? gpu.summary() : "cpu";
    for (const Rung& r : rungs)
      j["rungs"].push_back(
          {{"name", r.name},
           {"prompt_tokens", r.prompt},
           {"generated_tokens", r.gen},
           {"prompt_tokens_per_s", r.prompt_tok_s},
           {"generation_tokens_per_s", r.gen_tok_s},
           {"generation_after_prompt_tokens_per_s", r.gen_after_prompt_tok_s},
           {"roofline_fraction", r.gen_tok_s / roof.tokens_per_s()},
           {"achieved_gb_per_s", r.gen_tok_s * static_cast<double>(roof.bytes_per_token) / 1e9}});
    j["roofline"] = {{"bytes_per_token", roof.bytes_per_token},
                     {"read_gb_per_s", roof.read_gb_per_s},
                     {"tokens_per_s", roof.tokens_per_s()}};
    const Rung& last =
        rungs.size() > 1 && rungs.back().streams ? rungs[rungs.size() - 2] : rungs.back();
    j["synchronization"] = {
        {"dispatch_us", dispatch_s * 1e6},
        {"barrier_us", barrier_s * 1e6},
        {"dispatches_per_token", last.dispatches_per_token},
        {"barriers_per_token", last.barriers_per_token},
        {"us_per_token",
         (last.dispatches_per_token * dispatch_s + last.barriers_per_token * barrier_s) * 1e6}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s, %d threads, %s\n", path.c_str(), threads, cpu_features().brand.c_str());
    std::printf("roofline: %.1f MiB of weights per token at %.1f GB/s read = %.0f tok/s\n\n",
                static_cast<double>(roof.bytes_per_token) / (1 << 20), roof.read_gb_per_s,
                roof.tokens_per_s());
    std::printf("%-36s %8s %12s %7s %8s %12s %7s %9s %14s\n", "rung", "prompt", "prompt tok/s", "x",
                "gen", "gen tok/s", "x", "roofline", "after prompt");
    const Rung* prev = nullptr;
    for (const Rung& r : rungs) {
      if (r.streams > 0) {  // no prompt test; generation is the aggregate of the streams
        std::printf("%-36s %8s %12s %7s %8d %12.1f %7s %8.1f%% %14s\n", r.name.c_str(), "-", "-",
                    "", r.gen, r.gen_tok_s,
                    (std::to_string(r.gen_tok_s / prev->gen_tok_s).substr(0, 5) + "x").c_str(),
                    100.0 * r.gen_tok_s / roof.tokens_per_s(), "(aggregate)");
        continue;
      }
      std::printf(
          "%-36s %8d %12.1f %7s %8d %12.1f %7s %8.1f%% %14.1f\n", r.name.c_str(), r.prompt,
          r.prompt_tok_s,
          prev ? (std::to_string(r.prompt_tok_s / prev->prompt_tok_s).substr(0, 5) + "x").c_str()
               : "",
          r.gen, r.gen_tok_s,
          prev ? (std::to_string(r.gen_tok_s / prev->gen_tok_s).substr(0, 5) + "x").c_str() : "",
          100.0 * r.gen_tok_s / roof.tokens_per_s(), r.gen_after_prompt_tok_s);
      prev = &r;
    }
    const Rung& last =
        rungs.size() > 1 && rungs.back().streams ? rungs[rungs.size() - 2] : rungs.back();
    const double sync_s =
        last.dispatches_per_token * dispatch_s + last.barriers_per_token * barrier_s;
    std::printf(
        "\nsynchronization (%s): %.0f dispatches x %.2f us + %.0f barriers x %.2f us = "
        "%.0f us per decoded token (%.1f%% of its time)\n",
        last.name.c_str(), last.dispatches_per_token, dispatch_s * 1e6, last.barriers_per_token,
        barrier_s * 1e6, sync_s * 1e6, last.gen_tok_s > 0 ? 100.0 * sync_s * last.gen_tok_s : 0.0);
  }
  if (plot && !write_plot(rungs, roof, *plot,
                          path.substr(path.find_last_of('/') + 1) + ", " + std::to_string(threads) +
                              " threads"))
    throw Error("--plot: could not run gnuplot (install gnuplot-nox) to write " + *plot);
  return 0;
}

const Option kOptions[] = {
    {"--ladder", "", "the optimization ladder: the model through every chapter's step", ""},
    {"--concurrency", "LIST",
     "serving: continuous against static batching at each level, "
     "e.g. 1,4,8,16",
     ""},
    kModelOption,
    kThreadsOption,
    kDeviceOption,
    // -p and -n as llama-bench names them.
    {"-p|--prompt", "N", "prompt tokens", "512 with --ladder, 32 with --concurrency"},
    {"-n|--gen", "N", "tokens generated, per request", "128"},
    {"--from", "chNN", "--ladder: start at that chapter's rung", "ch04"},
    {"--plot", "FILE.png", "--ladder: a bar chart (needs gnuplot)", ""},
    {"--shared-prefix", "N", "--concurrency: N shared tokens before every prompt", "0"},
    {"--kv-memory", "MiB", "--concurrency: KV cache memory",
     "room for 16 x 2048 tokens, 1 GiB at most"},
    kKvTypeOption,
    {"--json", "", "JSON on stdout instead of the table", ""},
};

}  // namespace

extern const Command kBench{"bench", "tokens/s: the optimization ladder, or many requests at once",
                            "(--ladder | --concurrency LIST) -m FILE [options]", kOptions,
                            &run_bench};

}  // namespace llm::cli
