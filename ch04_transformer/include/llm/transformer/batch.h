// Batch — a ragged batch of tokens, the forward pass's only input.
//
// Each entry is one token of one sequence at one position; a batch may mix sequences and mix
// prompt tokens (prefill) with single new tokens (decode). `logits` marks the entries whose
// next-token logits the caller wants back. Single-prompt generation is a batch of one
// sequence; chapter 7's scheduler builds mixed batches without touching the model.
#pragma once

#include <cstdint>
#include <vector>

namespace llm {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> logits;  // 1 = return logits for this entry

  void add(int32_t token, int32_t pos, int32_t seq, bool want_logits) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    logits.push_back(want_logits ? 1 : 0);
  }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    logits.clear();
  }
  int size() const { return static_cast<int>(tokens.size()); }
  int n_logits() const {
    int n = 0;
    for (uint8_t l : logits) n += l;
    return n;
  }
};

}  // namespace llm
