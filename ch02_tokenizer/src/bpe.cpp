#include "llm/tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <optional>

namespace llm {

namespace {

// A pair waiting in the queue. The spans' ends are remembered so that a pair made stale by an
// earlier merge (one of its symbols grew or disappeared) is recognised and skipped when popped.
struct Candidate {
  double priority;  // higher merges first
  int32_t left, right;
  uint32_t left_end, right_end;
  int32_t result;
};

// Heap order: the best candidate is the highest priority, then the leftmost.
struct Worse {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  }
};

struct Scored {
  double priority;
  int32_t result;
};

// The merge loop. `score(l, r)` says whether symbols l and r may merge and how well.
template <class ScoreFn>
void merge_loop(std::vector<BpeSymbol>& syms, ScoreFn&& score) {
  // Reused across calls: the heap is the only allocation in the loop.
  thread_local std::vector<Candidate> heap;
  heap.clear();
  const auto consider = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const std::optional<Scored> s = score(syms[l], syms[r]);
    if (!s) return;
    heap.push_back({s->priority, l, r, syms[l].end, syms[r].end, s->result});
    std::push_heap(heap.begin(), heap.end(), Worse{});
  };
  for (size_t i = 1; i < syms.size(); ++i)
    consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Worse{});
    const Candidate c = heap.back();
    heap.pop_back();
    BpeSymbol& left = syms[c.left];
    BpeSymbol& right = syms[c.right];
    if (left.end != c.left_end || right.end != c.right_end) continue;  // stale
    left.end = right.end;
    left.id = c.result;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.left;
    right.end = right.begin;  // merged away
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }
}

}  // namespace

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(cap));
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = home(s.key);
    while (slots_[i].key != kEmpty) i = (i + 1) & (cap - 1);
    slots_[i] = s;
  }
}

void MergeTable::add(int32_t left, int32_t right, int32_t result, int32_t rank) {
  next_rank_ = std::max(next_rank_, rank + 1);
  if (find(left, right)) return;  // listed before with a better rank
  reserve(size_ + 1);
  const uint64_t k = key(left, right);
  size_t i = home(k);
  while (slots_[i].key != kEmpty) i = (i + 1) & (slots_.size() - 1);
  slots_[i] = Slot{k, Merge{rank, result}};
  ++size_;
}

void bpe_link(std::vector<BpeSymbol>& syms) {
  const auto n = static_cast<int32_t>(syms.size());
  for (int32_t i = 0; i < n; ++i) {
    syms[i].prev = i - 1;
    syms[i].next = i + 1 < n ? i + 1 : -1;
  }
}

void merge_by_rank(std::vector<BpeSymbol>& syms, const MergeTable& merges) {
  merge_loop(syms, [&](const BpeSymbol& l, const BpeSymbol& r) -> std::optional<Scored> {
    if (l.id < 0 || r.id < 0) return std::nullopt;
    const MergeTable::Merge* m = merges.find(l.id, r.id);
    if (!m) return std::nullopt;
    return Scored{-static_cast<double>(m->rank), m->result};
  });
}

void merge_by_score(std::string_view word, std::vector<BpeSymbol>& syms, const Vocab& vocab) {
  merge_loop(syms, [&](const BpeSymbol& l, const BpeSymbol& r) -> std::optional<Scored> {
    const auto id = vocab.find(word.substr(l.begin, r.end - l.begin));
    if (!id) return std::nullopt;
    const double score = vocab.scores.empty() ? 0.0 : vocab.scores[static_cast<size_t>(*id)];
    return Scored{score, *id};
  });
  for (int32_t i = 0; i >= 0 && !syms.empty(); i = syms[i].next)
    syms[i].id = vocab.find_or(word.substr(syms[i].begin, syms[i].end - syms[i].begin), -1);
}

}  // namespace llm
