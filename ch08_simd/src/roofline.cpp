#include "llm/simd/roofline.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "llm/config/error.h"
#include "llm/simd/cpu_features.h"
#include "x86/leaf_kernels.h"

namespace llm {

double measure_read_gb_per_s(size_t bytes, ThreadPool& pool, int passes) {
  bytes = (bytes + 4095) / 4096 * 4096;
  ScratchArena buffer;
  auto* data = reinterpret_cast<float*>(buffer.reserve(bytes));
  const size_t n = bytes / sizeof(float);
  // Touch every page from the thread that will read it (first-touch placement).
  std::vector<double> sums(static_cast<size_t>(pool.size()));
  pool.run([&](int t, int nt) {
    const Range r = split_range(static_cast<int64_t>(n), nt, t, 16);
    for (int64_t i = r.begin; i < r.end; ++i) data[i] = static_cast<float>(i & 7);
  });
#if defined(__x86_64__)
  [[maybe_unused]] const bool wide = cpu_features().has_avx512();
  [[maybe_unused]] const bool avx2 = cpu_features().has_avx2();
#else
  [[maybe_unused]] const bool wide = false, avx2 = false;
#endif
  // One thread's share, summed (so the reads cannot be optimized away).
  const auto read = [&](int64_t begin, int64_t end) -> double {
#if defined(__x86_64__)
    if (wide) return simd::read_sum_avx512(data + begin, end - begin);
    if (avx2) return simd::read_sum_avx2(data + begin, end - begin);
#endif
    float s[8] = {};
    for (int64_t i = begin; i < end; i += 8)
      for (int j = 0; j < 8 && i + j < end; ++j) s[j] += data[i + j];
    return static_cast<double>(s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]);
  };
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int t, int nt) {
      const Range r = split_range(static_cast<int64_t>(n), nt, t, 16);
      sums[static_cast<size_t>(t)] = read(r.begin, r.end);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0) best = std::max(best, static_cast<double>(bytes) / s / 1e9);
  }
  volatile double sink = 0;
  for (double s : sums) sink = sink + s;  // the reads must not be optimized away
  return best;
}

}  // namespace llm
