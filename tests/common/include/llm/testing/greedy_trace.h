// A greedy run that keeps every step's logits, and the check that a fast path (a sharded
// model, the GPU) matches its reference: equal ids, or a first difference at a proven near-tie.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "llm/transformer/transformer.h"

namespace llm::testing {

struct Trace {
  std::vector<int32_t> ids;
  std::vector<std::vector<float>> logits;  // per generated token
};

// Prefill, then n greedy steps, keeping every step's logits.
inline Trace greedy(Transformer& tr, const std::vector<int32_t>& prompt, int n) {
  Trace out;
  tr.cache().truncate(0, 0);
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i)
    b.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  int pos = static_cast<int>(prompt.size());
  for (int step = 0; step < n; ++step) {
    const auto logits = tr.forward(b);
    out.logits.emplace_back(logits.begin(), logits.end());
    const auto best =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.ids.push_back(best);
    b.clear();
    b.add(best, pos++, 0, true);
  }
  return out;
}

// Equal ids, or a first difference at a near-tie: there the reference's two best logits are
// closer than the largest logit difference between the two paths up to that step. And up to
// there the logits agree within 5% of their magnitude, so a broken kernel or collective (logits
// off by their whole size) cannot hide behind "near-ties". Why not float rounding: the paths
// only regroup sums (across ranks, across GPU threads), but a quantized model's CPU path
// quantizes each matmul's input to 8 bits, and an input that moved by one ulp can round to the
// next 8-bit step — on the default model the logits move by up to ~2% that way (its residual
// stream carries values of 2.5e4 that later layers cancel, which turns ulps into visible
// differences).
inline void expect_same_or_near_tie(const Trace& ref, const Trace& got, const std::string& what) {
  ASSERT_EQ(ref.ids.size(), got.ids.size());
  double drift = 0;
  for (size_t k = 0; k < ref.ids.size(); ++k) {
    double scale = 1;
    for (size_t v = 0; v < ref.logits[k].size(); ++v) {
      drift = std::max(drift, std::fabs(double{ref.logits[k][v]} - got.logits[k][v]));
      scale = std::max(scale, std::fabs(double{ref.logits[k][v]}));
    }
    ASSERT_LT(drift, 0.05 * scale) << what << ": the logits differ at step " << k;
    if (ref.ids[k] == got.ids[k]) continue;
    std::vector<float> top = ref.logits[k];
    std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
    EXPECT_LT(top[0] - top[1], drift)
        << what << ": step " << k << " differs (" << ref.ids[k] << " vs " << got.ids[k]
        << ") and is no near-tie: gap " << top[0] - top[1] << ", drift " << drift;
    std::printf("%s: %zu tokens equal, then a near-tie (gap %.3g < drift %.3g)\n", what.c_str(), k,
                double{top[0] - top[1]}, drift);
    return;
  }
  std::printf("%s: %zu tokens equal, largest logit difference %.3g\n", what.c_str(), ref.ids.size(),
              drift);
}

}  // namespace llm::testing
