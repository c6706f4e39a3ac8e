// The decode roofline: how fast this machine can stream the weights once per token.
//
// Decoding one token reads every weight once, so tokens/s can never beat
// read bandwidth ÷ weight bytes. The bandwidth is measured here, in the same process and with
// the same threads as the run it judges, on a buffer the size of the model's weights (a small
// buffer would measure a cache, a huge one the DRAM: the model's own size is what decode sees).
#pragma once

#include <cstddef>

#include "llm/config/thread_pool.h"

namespace llm {

struct Roofline {
  size_t bytes_per_token = 0;  // weight bytes read per decoded token
  double read_gb_per_s = 0;    // measured streaming read bandwidth (1e9 bytes/s)
  double tokens_per_s() const {
    return bytes_per_token ? read_gb_per_s * 1e9 / static_cast<double>(bytes_per_token) : 0;
  }
};

// Best of `passes` timed reads of a `bytes`-sized buffer split over the pool's threads.
double measure_read_gb_per_s(size_t bytes, ThreadPool& pool, int passes = 7);

}  // namespace llm
