#include "llm/tokenizer/special_tokens.h"

#include <algorithm>
#include <map>

namespace llm {

namespace {
bool is_ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) : vocab_(&vocab), by_first_(256) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab.is_special(id) || vocab.pieces[id].empty()) continue;
    const uint8_t strip = vocab.strip.empty() ? 0 : vocab.strip[id];
    entries_.push_back({id, vocab.type(id) == TokenType::UserDefined, strip});
  }
  std::stable_sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) {
    return vocab.pieces[a.id].size() > vocab.pieces[b.id].size();
  });
  for (size_t k = 0; k < entries_.size(); ++k)
    by_first_[static_cast<uint8_t>(vocab.pieces[entries_[k].id][0])].push_back(
        static_cast<int32_t>(k));
}

std::vector<TextFragment> SpecialTokenSplitter::split(std::string_view text,
                                                      bool parse_special) const {
  // 1. Every place where some eligible special token occurs, as (priority, position).
  std::vector<std::pair<int32_t, size_t>> found;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (int32_t k : by_first_[static_cast<uint8_t>(text[pos])]) {
      const Entry& e = entries_[k];
      if ((parse_special || e.always) && text.substr(pos).starts_with(vocab_->pieces[e.id]))
        found.emplace_back(k, pos);
    }
  }
  // 2. Longest tokens claim first; a later claim may not overlap an earlier one. This is what
  // splitting the remaining raw fragments token by token (as llama.cpp does) amounts to.
  std::sort(found.begin(), found.end());
  std::map<size_t, std::pair<size_t, int32_t>> claimed;  // begin -> (end, entry)
  for (const auto& [k, pos] : found) {
    const size_t end = pos + vocab_->pieces[entries_[k].id].size();
    auto next = claimed.lower_bound(pos);
    if (next != claimed.end() && next->first < end) continue;
    if (next != claimed.begin() && std::prev(next)->second.first > pos) continue;
    claimed.emplace_hint(next, pos, std::pair{end, k});
  }
  // 3. Raw text between the claims; lstrip/rstrip tokens eat the whitespace beside them.
  std::vector<TextFragment> out;
  size_t cur = 0;
  uint8_t prev_strip = 0;
  const auto raw = [&](size_t b, size_t e, uint8_t next_strip) {
    if (prev_strip & 2)
      while (b < e && is_ascii_space(text[b])) ++b;
    if (next_strip & 1)
      while (e > b && is_ascii_space(text[e - 1])) --e;
    if (e > b) out.push_back({-1, b, e});
  };
  for (const auto& [begin, claim] : claimed) {
    const Entry& e = entries_[claim.second];
    raw(cur, begin, e.strip);
    out.push_back({e.id, begin, claim.first});
    cur = claim.first;
    prev_strip = e.strip;
  }
  raw(cur, text.size(), 0);
  return out;
}

}  // namespace llm
