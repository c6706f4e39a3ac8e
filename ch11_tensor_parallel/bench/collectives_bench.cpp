// The thread communicator's collectives, timed alone: what one all-reduce of a layer's output
// costs when the ranks are threads. Run as `bench_ch11_collectives_bench`; each benchmark runs
// on 2 (and 3) threads, one rank each, the same number of iterations on every rank.
#include <benchmark/benchmark.h>

#include <map>
#include <mutex>

#include "llm/parallel/thread_communicator.h"

using llm::parallel::ThreadCommunicator;

namespace {

// One group per rank count, shared by the benchmark's threads.
ThreadCommunicator& comm(int world, int rank) {
  static std::mutex mu;
  static std::map<int, std::vector<std::unique_ptr<ThreadCommunicator>>> groups;
  std::lock_guard lock(mu);
  auto& g = groups[world];
  if (g.empty()) g = ThreadCommunicator::create(world);
  return *g[static_cast<size_t>(rank)];
}

// range(0) floats per rank: 576 is the default model's dim (one token's layer output).
void BM_AllReduce(benchmark::State& state) {
  ThreadCommunicator& c = comm(state.threads(), state.thread_index());
  std::vector<float> x(static_cast<size_t>(state.range(0)), 1.0f);
  for (auto _ : state) {
    c.all_reduce_sum(x.data(), x.size());
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_AllReduce)->Arg(576)->Arg(576 * 16)->Arg(4096)->Threads(2)->Threads(3)->UseRealTime();

void BM_BroadcastIds(benchmark::State& state) {
  ThreadCommunicator& c = comm(state.threads(), state.thread_index());
  std::vector<int32_t> ids(8, 1);
  for (auto _ : state) c.broadcast(ids.data(), ids.size(), 0);
}
BENCHMARK(BM_BroadcastIds)->Threads(2)->Threads(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
