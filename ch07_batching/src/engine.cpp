#include "llm/batching/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "llm/config/error.h"

namespace llm {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Context:
      return "context";
    case FinishReason::Cancelled:
      return "cancelled";
    case FinishReason::Error:
      return "error";
  }
  return "?";
}

Engine::Engine(Transformer& model, PagedKvCache& cache, const Tokenizer* tokenizer,
               EngineConfig config)
    : model_(model), cache_(cache), tokenizer_(tokenizer), config_(config), scheduler_(cache, [&] {
        SchedulerConfig s = config.scheduler;
        s.max_batch_tokens = std::min(s.max_batch_tokens, model.max_batch());
        return s;
      }()) {
  if (&model.cache() != &cache)
    throw Error("engine: the transformer must run on the engine's cache");
  stats_.kv = cache.stats();  // the pool as it is before the first step
}

Engine::~Engine() {
  stop();
}

uint64_t Engine::submit(Request r, EventCallback on_event) {
  const RequestParams& p = r.params;
  const int vocab = model_.model().config.vocab_size;
  if (r.prompt.empty()) throw Error("request: the prompt is empty");
  if (static_cast<int>(r.prompt.size()) >= cache_.max_tokens())
    throw Error("request: the prompt has " + std::to_string(r.prompt.size()) +
                " tokens; the context holds " + std::to_string(cache_.max_tokens()) +
                " (prompt and at least one generated token)");
  for (int32_t t : r.prompt)
    if (t < 0 || t >= vocab)
      throw Error("request: token id " + std::to_string(t) + " is outside the vocabulary");
  if (p.n < 1 || p.n > config_.max_samples)
    throw Error("request: n must be in 1.." + std::to_string(config_.max_samples));
  if (p.max_tokens < 1) throw Error("request: max_tokens must be at least 1");
  if (p.logprobs > config_.max_logprobs)
    throw Error("request: logprobs must be at most " + std::to_string(config_.max_logprobs));
  const auto params = std::make_shared<const RequestParams>(p);
  const auto callback = std::make_shared<EventCallback>(std::move(on_event));
  auto seq = std::make_unique<Sequence>(p, p.sampler.seed, tokenizer_);
  seq->tokens = std::move(r.prompt);
  seq->n_prompt = static_cast<int>(seq->tokens.size());
  seq->params = params;
  seq->on_event = callback;
  std::lock_guard lock(mu_);
  seq->request = next_id_++;
  seq->arrival = next_arrival_++;
  const uint64_t id = seq->request;
  stats_.requests++;
  stats_.prompt_tokens += static_cast<uint64_t>(seq->n_prompt);
  inbox_.push_back(std::move(seq));
  cv_.notify_one();
  return id;
}

void Engine::cancel(uint64_t request) {
  std::lock_guard lock(mu_);
  cancels_.push_back(request);
  cv_.notify_one();
}

void Engine::drain_inbox() {
  std::vector<std::unique_ptr<Sequence>> fresh;
  std::vector<uint64_t> cancels;
  {
    std::lock_guard lock(mu_);
    fresh.swap(inbox_);
    cancels.swap(cancels_);
  }
  for (auto& s : fresh) {
    open_samples_[s->request] = s->params->n;
    scheduler_.add(std::move(s));
  }
  for (uint64_t id : cancels)
    for (Sequence* s : scheduler_.sequences_of(id)) finish(s, FinishReason::Cancelled);
}

void Engine::finish(Sequence* s, FinishReason reason, const std::string& error) {
  TokenEvent ev;
  ev.request = s->request;
  ev.sample = s->sample;
  ev.finished = true;
  ev.reason = reason;
  ev.error = error;
  if (reason != FinishReason::Error) ev.text = std::string(s->text.finish());
  ev.n_prompt = s->n_prompt;
  ev.n_cached = s->n_cached;
  ev.n_generated = s->n_generated();
  // Leaves the scheduler (blocks freed) before the callback runs: a client told "finished"
  // sees the blocks free. Samples not yet spawned (n > 1 cancelled early) end with it.
  std::unique_ptr<Sequence> owned = scheduler_.remove(s);
  const std::shared_ptr<EventCallback> cb = owned->on_event;
  const auto it = open_samples_.find(ev.request);
  int left = it == open_samples_.end() ? 0 : --it->second;
  if (s->sample == 0 && !s->spawned && owned->params->n > 1 && left > 0) {
    // the other samples were never spawned (cancelled or failed before the first token)
    for (int i = 1; i < owned->params->n; ++i) {
      TokenEvent e = ev;
      e.sample = i;
      e.text.clear();
      if (*cb) (*cb)(e);
    }
    left = 0;
  }
  if (it != open_samples_.end() && left <= 0) open_samples_.erase(it);
  {
    std::lock_guard lock(mu_);
    stats_.finished += left <= 0 ? 1 : 0;
    snapshot_locked();  // so that whoever hears "finished" sees the blocks free
  }
  if (*cb) (*cb)(ev);
}

void Engine::accept(Sequence& s, int32_t token, std::span<const float> logits) {
  const RequestParams& p = *s.params;
  if (std::find(p.stop_ids.begin(), p.stop_ids.end(), token) != p.stop_ids.end()) {
    finish(&s, FinishReason::Stop);
    return;
  }
  s.tokens.push_back(token);
  TokenEvent ev;
  ev.request = s.request;
  ev.sample = s.sample;
  ev.token = token;
  ev.text = std::string(s.text.push(token));
  ev.n_prompt = s.n_prompt;
  ev.n_cached = s.n_cached;
  ev.n_generated = s.n_generated();
  if (p.logprobs >= 0) log_probs(logits, token, p.logprobs, ev);
  if (*s.on_event) (*s.on_event)(ev);
  if (s.text.stopped()) {
    finish(&s, FinishReason::Stop);
  } else if (s.n_generated() >= p.max_tokens) {
    finish(&s, FinishReason::Length);
  } else if (static_cast<int>(s.tokens.size()) >= cache_.max_tokens()) {
    finish(&s, FinishReason::Context);
  }
}

void Engine::log_probs(std::span<const float> logits, int32_t token, int top, TokenEvent& ev) {
  // log p_i = l_i - (max + log Σ e^(l_j - max)), summed in id order: deterministic.
  float mx = -INFINITY;
  for (float l : logits) mx = std::max(mx, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - mx));
  const float norm = mx + static_cast<float>(std::log(sum));
  ev.logprob = logits[static_cast<size_t>(token)] - norm;
  if (top <= 0) return;
  order_.resize(logits.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int32_t>(i);
  const size_t k = std::min(order_.size(), static_cast<size_t>(top));
  std::partial_sort(
      order_.begin(), order_.begin() + static_cast<long>(k), order_.end(),
      [&](int32_t a, int32_t b) {
        return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
               (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
      });
  for (size_t i = 0; i < k; ++i)
    ev.top_logprobs.emplace_back(order_[i], logits[static_cast<size_t>(order_[i])] - norm);
}

void Engine::spawn_samples(Sequence& parent, std::span<const float> logits) {
  // Samples 1..n-1 share the prompt's blocks (fork) and draw their first token from the same
  // logits, each with its own seed: sample i is what a lone request with seed + i gives.
  const RequestParams& p = *parent.params;
  parent.spawned = true;
  for (int i = 1; i < p.n; ++i) {
    auto child =
        std::make_unique<Sequence>(p, p.sampler.seed + static_cast<uint64_t>(i), tokenizer_);
    child->request = parent.request;
    child->sample = i;
    child->arrival = parent.arrival;
    child->tokens.assign(parent.tokens.begin(), parent.tokens.begin() + parent.n_prompt);
    child->n_prompt = parent.n_prompt;
    child->params = parent.params;
    child->on_event = parent.on_event;
    if (!scheduler_.fork_into(parent, *child)) {
      scheduler_.add(std::move(child));  // no slot now: it computes its prompt when admitted
      continue;
    }
    Sequence& c = *child;
    scheduler_.add_running(std::move(child));
    const int32_t t = c.sampler.sample(logits, c.tokens);
    accept(c, t, logits);
  }
}

void Engine::sample(Sequence& s, std::span<const float> logits) {
  const int32_t token = s.sampler.sample(logits, s.tokens);
  if (s.sample == 0 && !s.spawned && s.params->n > 1) spawn_samples(s, logits);
  accept(s, token, logits);
}

bool Engine::step() {
  drain_inbox();
  // The scheduler's own plan: it changes only in schedule(), not while the step runs.
  const std::vector<ScheduledChunk>& plan = scheduler_.schedule();
  for (Sequence* s : scheduler_.take_unfittable())
    finish(s, FinishReason::Context,
           "the sequence needs more KV blocks than the whole cache holds (" +
               std::to_string(cache_.manager().n_blocks()) + " blocks of " +
               std::to_string(cache_.block_size()) + " tokens)");
  if (plan.empty()) {
    std::lock_guard lock(mu_);
    snapshot_locked();
    busy_ = !scheduler_.idle();
    return busy_;
  }
  batch_.clear();
  for (const ScheduledChunk& c : plan)
    for (int p = c.begin; p < c.begin + c.count; ++p)
      batch_.add(c.seq->tokens[static_cast<size_t>(p)], p, c.seq->slot,
                 p + 1 == static_cast<int>(c.seq->tokens.size()));
  auto t0 = Clock::now();
  std::span<const float> logits;
  try {
    logits = model_.forward(batch_);
  } catch (const std::exception& e) {
    // Nothing a request does may take the engine down: the step's sequences end with the error.
    for (const ScheduledChunk& c : plan) finish(c.seq, FinishReason::Error, e.what());
    busy_ = !scheduler_.idle();
    return true;
  }
  const double forward = since(t0);
  const KvStats kv_after_forward = cache_.stats();  // every sequence of the step holds its blocks
  t0 = Clock::now();
  const size_t vocab = static_cast<size_t>(model_.model().config.vocab_size);
  size_t row = 0;
  uint64_t generated = 0;
  for (const ScheduledChunk& c : plan) {
    Sequence& s = *c.seq;
    s.computed += c.count;
    if (s.computed == static_cast<int>(s.tokens.size())) {
      sample(s, logits.subspan(row * vocab, vocab));  // may finish s (and free it)
      ++row;
      ++generated;
    }
  }
  const double sampling = since(t0);
  {
    std::lock_guard lock(mu_);
    stats_.computed_tokens += static_cast<uint64_t>(batch_.size());
    stats_.generated_tokens += generated;
    stats_.forward_seconds += forward;
    stats_.sampling_seconds += sampling;
    snapshot_locked();  // after the step's finished sequences let go of their blocks
    stats_.kv_fragmentation_mean +=
        (kv_after_forward.fragmentation - stats_.kv_fragmentation_mean) /
        static_cast<double>(++stats_.kv_samples);
    stats_.kv_blocks_peak = std::max(stats_.kv_blocks_peak, kv_after_forward.blocks_used);
  }
  busy_ = !scheduler_.idle();
  return true;
}

void Engine::run_until_idle() {
  while (step()) {
  }
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty() || busy_; });
      if (stopping_) break;
    }
    step();
  }
}

void Engine::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  // Whatever is still open ends as cancelled, so every client hears the end of its request.
  drain_inbox();
  for (Sequence* s : scheduler_.all()) finish(s, FinishReason::Cancelled);
  std::lock_guard lock(mu_);
  snapshot_locked();
}

void Engine::snapshot_locked() {
  stats_.scheduler = scheduler_.stats();
  stats_.kv = cache_.stats();
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Kernels batch_invariant_kernels(const Registry& r) {
  Kernels k = Kernels::select(r);
  // The reference attention rounds like llama.cpp, differently for a prompt than for a decoded
  // token; "tiled" reduces each token alone. Also the fallback of a variant that declines.
  if (const KernelEntry* tiled = r.find("attention", "tiled")) {
    const auto fn = Registry::cast<AttentionBatchFn>(*tiled);
    if (k.attention.variant == "plain") {
      k.attention.fn = fn;
      k.attention.variant = "tiled";
      k.chosen["attention"] = "tiled";
    }
    k.attention.ref = fn;
  }
  return k;
}

}  // namespace llm
