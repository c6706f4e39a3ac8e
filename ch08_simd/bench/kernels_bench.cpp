// Chapter 8's kernels side by side with their references, on a SmolLM2-135M-sized layer:
// every registered variant of the matmuls (a decoded token, n = 1, and a prompt chunk, n = 64)
// with GB/s of weights streamed, and of attention at several context lengths.
//   build/release/bin/bench_ch08_kernels_bench [--benchmark_filter=q4_1]
// LLMCPP_THREADS=N sets the thread pool (default 1: one core, kernel against kernel).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "llm/quant/quant.h"
#include "llm/simd/simd.h"
#include "llm/transformer/kernels.h"

namespace {

using namespace llm;

int threads() {
  const char* t = std::getenv("LLMCPP_THREADS");
  return t ? std::max(1, std::atoi(t)) : 1;
}

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Context {
  ThreadPool pool{threads()};
  ScratchArena scratch, shared;
  ExecContext ctx;
  Context() {
    ctx.pool = &pool;
    ctx.scratch_bytes = 1 << 20;
    ctx.scratch = scratch.reserve(ctx.scratch_bytes * static_cast<size_t>(pool.size()));
    ctx.shared_bytes = 8 << 20;
    ctx.shared = shared.reserve(ctx.shared_bytes);
  }
};
Context& context() {
  static Context c;
  return c;
}

void register_matmuls(const Registry& r, DType type, int rows, int cols) {
  const std::string name(dtype_name(type));
  for (const KernelEntry* e : r.variants("matmul/" + name)) {
    if (!e->usable()) continue;
    const auto kernel = Registry::cast<MatmulKernel>(*e);
    for (int n : {1, 64}) {
      benchmark::RegisterBenchmark(
          ("matmul/" + name + "/" + e->variant + "/" + std::to_string(rows) + "x" +
           std::to_string(cols) + "/n" + std::to_string(n))
              .c_str(),
          [=](benchmark::State& state) {
            auto w = std::make_shared<PreparedWeight>();
            const Tensor f = Tensor::from_f32(
                random_values(static_cast<size_t>(rows) * cols, 1, 0.1f), {rows, cols});
            w->tensor = type == DType::F32 ? f : quantize_tensor(f, type);
            if (kernel.prepare && !kernel.prepare(w->tensor, *w)) {
              state.SkipWithError("declined");
              return;
            }
            const auto x = random_values(static_cast<size_t>(n) * cols, 2);
            std::vector<float> y(static_cast<size_t>(n) * rows);
            const MatmulJob job{w.get(), y.data()};
            for (auto _ : state) {
              kernel.run(context().ctx, {&job, 1}, x.data(), n);
              benchmark::DoNotOptimize(y.data());
            }
            state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w->tensor.nbytes()));
            state.counters["tok/s"] = benchmark::Counter(
                static_cast<double>(n) * state.iterations(), benchmark::Counter::kIsRate);
          })
          ->UseRealTime();
    }
  }
}

void register_attention_benchmarks(const Registry& r) {
  for (const KernelEntry* e : r.variants("attention")) {
    if (!e->usable()) continue;
    const auto fn = Registry::cast<AttentionBatchFn>(*e);
    for (int keys : {64, 512, 2048}) {
      benchmark::RegisterBenchmark(
          ("attention/" + e->variant + "/keys" + std::to_string(keys)).c_str(),
          [=](benchmark::State& state) {
            const AttentionShape shape{9, 3, 64, 1};
            const int stride = 192;
            const auto kf = random_values(static_cast<size_t>(keys) * stride, 3, 2.0f);
            const auto vf = random_values(kf.size(), 4);
            std::vector<uint16_t> k(kf.size()), v(vf.size());
            for (size_t i = 0; i < kf.size(); ++i) {
              k[i] = f32_to_f16(kf[i]);
              v[i] = f32_to_f16(vf[i]);
            }
            const auto q = random_values(576, 5, 2.0f);
            std::vector<float> out(576);
            const KvBlock block{k.data(), v.data(), keys, stride, DType::F16};
            const AttentionJob job{{&block, 1}, keys};
            for (auto _ : state) {
              fn(context().ctx, q.data(), &job, 1, shape, out.data());
              benchmark::DoNotOptimize(out.data());
            }
            state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(k.size()) * 2);
          })
          ->UseRealTime();
    }
  }
}

// The matmuls of a decoded token of SmolLM2-135M-Q4_1 alone: 30 layers of q/k/v (one call),
// o, gate/up (one call), down, as the model calls them, with weights that stream from L3/DRAM.
// GB/s here against the roofline says how much the calls' fixed costs take from decoding.
void BM_DecodeLayers(benchmark::State& state, const Registry* r) {
  const auto kernel = Registry::cast<MatmulKernel>(*r->best("matmul/q4_1"));
  struct Layer {
    PreparedWeight w[7];
  };
  static std::vector<Layer> layers = [&] {
    std::vector<Layer> v(30);
    const int shapes[7][2] = {{576, 576},  {192, 576},  {192, 576}, {576, 576},
                              {1536, 576}, {1536, 576}, {576, 1536}};
    uint32_t seed = 1;
    for (Layer& l : v)
      for (int i = 0; i < 7; ++i) {
        l.w[i].tensor = quantize_tensor(
            Tensor::from_f32(
                random_values(static_cast<size_t>(shapes[i][0]) * shapes[i][1], seed++, 0.1f),
                {shapes[i][0], shapes[i][1]}),
            DType::Q4_1);
        if (kernel.prepare) kernel.prepare(l.w[i].tensor, l.w[i]);
      }
    return v;
  }();
  std::vector<float> x(1536, 0.5f), q(576), k(192), v(192), o(576), g(1536), u(1536), d(576);
  size_t bytes = 0;
  for (const Layer& l : layers)
    for (const PreparedWeight& w : l.w) bytes += w.tensor.nbytes();
  const ExecContext& ctx = context().ctx;
  for (auto _ : state)
    for (const Layer& l : layers) {
      const MatmulJob qkv[] = {{&l.w[0], q.data()}, {&l.w[1], k.data()}, {&l.w[2], v.data()}};
      kernel.run(ctx, std::span<const MatmulJob>(qkv), x.data(), 1);
      const MatmulJob jo{&l.w[3], o.data()};
      kernel.run(ctx, {&jo, 1}, q.data(), 1);
      const MatmulJob gu[] = {{&l.w[4], g.data()}, {&l.w[5], u.data()}};
      kernel.run(ctx, std::span<const MatmulJob>(gu), o.data(), 1);
      const MatmulJob jd{&l.w[6], d.data()};
      kernel.run(ctx, {&jd, 1}, g.data(), 1);
    }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// The price of one synchronization: an empty job dispatched to the pool (run), and a barrier
// inside a job. A decoded token of SmolLM2-135M costs ~150 dispatches and ~120 barriers.
void BM_PoolDispatch(benchmark::State& state) {
  ThreadPool& pool = context().pool;
  for (auto _ : state) pool.run([](int, int) {});
  state.counters["threads"] = pool.size();
}
void BM_PoolBarrier(benchmark::State& state) {
  ThreadPool& pool = context().pool;
  constexpr int kBarriers = 100;
  for (auto _ : state)
    pool.run([&](int, int) {
      for (int i = 0; i < kBarriers; ++i) pool.barrier();
    });
  state.SetItemsProcessed(state.iterations() * kBarriers);
}

}  // namespace

int main(int argc, char** argv) {
  static Registry registry;
  register_simd(registry);
  for (DType t : {DType::Q4_1, DType::Q4_0, DType::Q8_0, DType::F32})
    register_matmuls(registry, t, 1536, 576);
  for (DType t :
       {DType::Q4_K, DType::Q6_K})  // super-blocks of 256: the FFN's down projection shape
    register_matmuls(registry, t, 576, 1536);
  // Larger than the L2 caches: the weights stream from L3 or DRAM, as in decoding.
  for (DType t : {DType::Q4_1, DType::Q4_0, DType::Q8_0}) register_matmuls(registry, t, 32768, 576);
  register_attention_benchmarks(registry);
  benchmark::RegisterBenchmark("decode_layers/q4_1", BM_DecodeLayers, &registry)->UseRealTime();
  benchmark::RegisterBenchmark("pool/dispatch", BM_PoolDispatch)->UseRealTime();
  benchmark::RegisterBenchmark("pool/barrier", BM_PoolBarrier)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
