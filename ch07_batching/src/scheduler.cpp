#include "llm/batching/scheduler.h"

#include <algorithm>

namespace llm {
namespace {
bool before(const std::unique_ptr<Sequence>& a, const std::unique_ptr<Sequence>& b) {
  return a->arrival < b->arrival || (a->arrival == b->arrival && a->sample < b->sample);
}
void insert_ordered(std::vector<std::unique_ptr<Sequence>>& v, std::unique_ptr<Sequence> s) {
  const auto at = std::upper_bound(v.begin(), v.end(), s, before);
  v.insert(at, std::move(s));
}
}  // namespace

Scheduler::Scheduler(PagedKvCache& cache, SchedulerConfig config) : cache_(cache), config_(config) {
  if (config.max_batch_tokens <= 0) throw Error("scheduler: max_batch_tokens must be positive");
  if (config.max_running <= 0) throw Error("scheduler: max_running must be positive");
  for (int s = std::min(config.max_running, cache.max_seqs()) - 1; s >= 0; --s)
    free_slots_.push_back(s);
}

void Scheduler::add(std::unique_ptr<Sequence> seq) {
  insert_ordered(waiting_, std::move(seq));
}

void Scheduler::add_running(std::unique_ptr<Sequence> seq) {
  insert_ordered(running_, std::move(seq));
}

int Scheduler::take_slot() {
  const int s = free_slots_.back();
  free_slots_.pop_back();
  return s;
}

void Scheduler::give_slot(int slot) {
  cache_.free(slot);
  free_slots_.push_back(slot);
}

int Scheduler::fit(const Sequence& s, int want) const {
  // blocks_needed grows with the token count: the largest count that fits, by bisection.
  const int free = cache_.available_blocks() - promised_;
  if (cache_.blocks_needed(s.slot, want) <= free) return want;
  int lo = 0, hi = want;  // fits(lo), !fits(hi)
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (cache_.blocks_needed(s.slot, mid) <= free ? lo : hi) = mid;
  }
  return lo;
}

bool Scheduler::fits_alone(const Sequence& s) const {
  const int bs = cache_.block_size();
  return (static_cast<int>(s.tokens.size()) + bs - 1) / bs <= cache_.manager().n_blocks();
}

void Scheduler::preempt(size_t i) {
  std::unique_ptr<Sequence> s = std::move(running_[i]);
  running_.erase(running_.begin() + static_cast<long>(i));
  give_slot(s->slot);
  s->slot = -1;
  s->computed = 0;  // recomputed on readmission (from the prefix cache where it can)
  ++s->preemptions;
  ++stats_.preemptions;
  insert_ordered(waiting_, std::move(s));
}

const std::vector<ScheduledChunk>& Scheduler::schedule() {
  plan_.clear();
  promised_ = 0;
  int budget = config_.max_batch_tokens;
  // 1. Running sequences, oldest first; newer ones make room for older ones.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& s = *running_[i];
    const int want = std::min(s.remaining(), budget);
    int n = fit(s, want);
    while (n == 0 && running_.size() > i + 1) {
      preempt(running_.size() - 1);
      n = fit(s, want);
    }
    if (n == 0) {
      if (!fits_alone(s)) {  // would not fit in an empty cache: it can only end
        unfittable_.push_back(running_[i].get());
        ++i;
        continue;
      }
      preempt(i);  // the newest itself: wait until older ones finish
      continue;
    }
    promised_ += cache_.blocks_needed(s.slot, n);
    plan_.push_back({&s, s.computed, n});
    budget -= n;
    ++i;
  }
  // 2. Waiting sequences in arrival order, while budget, slots and blocks allow.
  while (!waiting_.empty() && budget > 0 && !free_slots_.empty() &&
         static_cast<int>(running_.size()) < config_.max_running) {
    Sequence& s = *waiting_.front();
    if (!fits_alone(s)) {
      unfittable_.push_back(&s);
      running_.push_back(std::move(waiting_.front()));  // the engine removes it at once
      waiting_.erase(waiting_.begin());
      continue;
    }
    s.slot = take_slot();
    s.computed = cache_.match_prefix(s.slot, s.tokens);
    if (!s.admitted_once) s.n_cached = s.computed;
    const int n = fit(s, std::min(s.remaining(), budget));
    if (n == 0) {  // head of the line waits for blocks; nothing behind it overtakes
      give_slot(s.slot);
      s.slot = -1;
      s.computed = 0;
      break;
    }
    s.admitted_once = true;
    ++stats_.admitted;
    promised_ += cache_.blocks_needed(s.slot, n);
    plan_.push_back({&s, s.computed, n});
    budget -= n;
    std::unique_ptr<Sequence> moved = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    insert_ordered(running_, std::move(moved));
  }
  if (!plan_.empty()) ++stats_.steps;
  return plan_;
}

std::vector<Sequence*> Scheduler::take_unfittable() {
  std::vector<Sequence*> out;
  out.swap(unfittable_);
  return out;
}

std::unique_ptr<Sequence> Scheduler::remove(Sequence* seq) {
  for (size_t i = 0; i < running_.size(); ++i)
    if (running_[i].get() == seq) {
      std::unique_ptr<Sequence> s = std::move(running_[i]);
      running_.erase(running_.begin() + static_cast<long>(i));
      if (s->slot >= 0) give_slot(s->slot);
      s->slot = -1;
      return s;
    }
  for (size_t i = 0; i < waiting_.size(); ++i)
    if (waiting_[i].get() == seq) {
      std::unique_ptr<Sequence> s = std::move(waiting_[i]);
      waiting_.erase(waiting_.begin() + static_cast<long>(i));
      return s;
    }
  return nullptr;
}

std::vector<Sequence*> Scheduler::sequences_of(uint64_t request) const {
  std::vector<Sequence*> out;
  for (const auto* v : {&running_, &waiting_})
    for (const auto& s : *v)
      if (s->request == request) out.push_back(s.get());
  return out;
}

bool Scheduler::fork_into(Sequence& parent, Sequence& child) {
  if (free_slots_.empty() || static_cast<int>(running_.size()) >= config_.max_running) return false;
  child.slot = take_slot();
  cache_.fork(parent.slot, child.slot);
  child.computed = parent.computed;
  child.admitted_once = true;
  child.n_cached = parent.n_cached;
  return true;
}

std::vector<Sequence*> Scheduler::running() const {
  std::vector<Sequence*> out;
  for (const auto& s : running_) out.push_back(s.get());
  return out;
}

std::vector<Sequence*> Scheduler::all() const {
  std::vector<Sequence*> out = running();
  for (const auto& s : waiting_) out.push_back(s.get());
  return out;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats st = stats_;
  st.running = static_cast<int>(running_.size());
  st.waiting = static_cast<int>(waiting_.size());
  return st;
}

}  // namespace llm
