// Chapter 6 benchmarks: every registered variant of the matmul and codec ops, side by side.
//
// matmul_n1/<type>/<variant>: one activation row (decoding) times a 576×1536 weight, the shape
// of SmolLM2-135M's ffn_down (1536 inputs: a multiple of 256, so the K-quants apply). Reported
// bytes are the weight's bytes, so GB/s compares directly with the machine's memory bandwidth —
// the bound a decoding step runs into once the kernels are fast (chapter 8).
// from_f32/<type>: quantizer throughput over that whole weight (what `llm quantize` runs) and
// over one activation row (what every matmul call runs first). to_f32/<type>: decoders.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"
#include "llm/transformer/kernels.h"

using namespace llm;

namespace {

constexpr int kRows = 576, kCols = 1536;

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;  // LCG: the values only need to look like weights
    x = (static_cast<float>(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
  }
  return v;
}

const std::vector<float>& weights_f32() {
  static const std::vector<float> w = random_values(static_cast<size_t>(kRows) * kCols, 1);
  return w;
}

void register_matmul(const Registry& r, const std::string& type) {
  const DType dtype = *dtype_from_name(type);
  for (const KernelEntry* e : r.variants("matmul/" + type)) {
    if (!e->usable()) continue;
    const MatmulKernel fn = Registry::cast<MatmulKernel>(*e);
    benchmark::RegisterBenchmark(
        ("matmul_n1/" + type + "/" + e->variant).c_str(), [fn, dtype](benchmark::State& state) {
          PreparedWeight w;
          w.tensor = quantize_tensor(Tensor::from_f32(weights_f32(), {kRows, kCols}), dtype);
          if (fn.prepare && !fn.prepare(w.tensor, w)) {
            state.SkipWithError("the variant declined the weight");
            return;
          }
          const std::vector<float> x = random_values(kCols, 2);
          std::vector<float> y(kRows);
          const ExecContext ctx;
          const MatmulJob job{&w, y.data()};
          for (auto _ : state) {
            fn.run(ctx, {&job, 1}, x.data(), 1);
            benchmark::DoNotOptimize(y.data());
          }
          state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.tensor.nbytes()));
        });
  }
}

void register_quantizer(const Registry& r, DType dtype, int64_t n) {
  const std::string type(dtype_name(dtype));
  for (const KernelEntry* e : r.variants("from_f32/" + type)) {
    if (!e->usable()) continue;
    const FromF32Fn fn = Registry::cast<FromF32Fn>(*e);
    const std::string what = n == kCols ? "row" : "weight";
    benchmark::RegisterBenchmark(
        ("from_f32_" + what + "/" + type + "/" + e->variant).c_str(),
        [fn, dtype, n](benchmark::State& state) {
          const std::vector<float> x = random_values(static_cast<size_t>(n), 3);
          std::vector<std::byte> q(row_bytes(dtype, n));
          for (auto _ : state) {
            fn(x.data(), q.data(), n);
            benchmark::DoNotOptimize(q.data());
          }
          state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
          state.SetItemsProcessed(state.iterations() * n);
        });
  }
}

void register_decoder(const Registry& r, const std::string& type) {
  const DType dtype = *dtype_from_name(type);
  for (const KernelEntry* e : r.variants("to_f32/" + type)) {
    if (!e->usable()) continue;
    const ToF32Fn fn = Registry::cast<ToF32Fn>(*e);
    benchmark::RegisterBenchmark(
        ("to_f32/" + type + "/" + e->variant).c_str(), [fn, dtype](benchmark::State& state) {
          const Tensor w = quantize_tensor(Tensor::from_f32(weights_f32(), {kRows, kCols}), dtype);
          std::vector<float> y(static_cast<size_t>(kRows) * kCols);
          for (auto _ : state) {
            fn(w.data(), y.data(), static_cast<int64_t>(kRows) * kCols);
            benchmark::DoNotOptimize(y.data());
          }
          state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.nbytes()));
        });
  }
}

}  // namespace

int main(int argc, char** argv) {
  static Registry registry;
  register_quant(registry);
  register_matmul(registry, "f32");
  for (const QuantType& t : quant_types())
    register_matmul(registry, std::string(dtype_name(t.weight)));
  for (DType t : {DType::Q8_0, DType::Q8_1, DType::Q8_K}) register_quantizer(registry, t, kCols);
  for (const QuantType& t : quant_types())
    register_quantizer(registry, t.weight, static_cast<int64_t>(kRows) * kCols);
  for (const QuantType& t : quant_types())
    register_decoder(registry, std::string(dtype_name(t.weight)));

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
