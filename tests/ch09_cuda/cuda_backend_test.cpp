// Chapter 9's CUDA backend against the CPU: every op at odd sizes with every kernel version,
// the paged-attention kernel over random block tables, and greedy generation. The GPU tests skip
// with the reason on a machine without a GPU; the first test checks what such a machine gets.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "llm/attention/rope.h"
#include "llm/config/error.h"
#include "llm/cuda/cuda_backend.h"
#include "llm/loading/load_model.h"
#include "llm/loading/register.h"
#include "llm/quant/quant.h"
#include "llm/testing/greedy_trace.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"

using namespace llm;
namespace t = llm::testing;

namespace {

bool have_gpu() {
  const cuda::DeviceInfo i = cuda::device_info();
  return i.built && i.count > 0;
}
#define REQUIRE_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no CUDA GPU here: " << cuda::device_info().summary()

Registry& registry() {
  static Registry r = [] {
    Registry reg;
    register_loading(reg);
    return reg;
  }();
  return r;
}

std::unique_ptr<Backend> cpu_reference() {
  return std::make_unique<CpuBackend>(Kernels::reference(registry()), 1);
}

std::unique_ptr<Backend> gpu(const cuda::CudaOptions& o = {}) {
  return cuda::make_cuda_backend(std::make_unique<CpuBackend>(Kernels::select(registry()), 1), o);
}

TEST(Cuda, WithoutAGpuEveryEntryPointSaysSoAndNothingCrashes) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is present: " << cuda::device_info().summary();
  const cuda::DeviceInfo info = cuda::device_info();
  EXPECT_EQ(info.count, 0);
  EXPECT_FALSE(info.summary().empty());
  const std::string want = info.built ? "no CUDA GPU is visible" : "built without CUDA";
  try {
    gpu();
    FAIL() << "a CUDA backend without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
  EXPECT_THROW(cuda::make_device_kv_memory(0), Error);
}

// A backend's buffer holding `values`.
float* filled(Backend& b, const std::vector<float>& values) {
  float* p = b.alloc(values.size());
  b.write(p, values.data(), values.size());
  return p;
}
std::vector<float> read(Backend& b, const float* p, size_t n) {
  const float* h = b.host_view(p, n);
  return {h, h + n};
}

Tensor random_weight(DType type, int rows, int cols, uint64_t seed) {
  const Tensor f =
      Tensor::from_f32(t::random_floats(static_cast<size_t>(rows) * cols, seed), {rows, cols});
  return type == DType::F32 ? f : quantize_tensor(f, type);
}

// The kernel versions side by side: each combination must give the CPU's answers.
class CudaOps : public ::testing::TestWithParam<std::tuple<int, int, int>> {
 protected:
  cuda::CudaOptions options() const {
    cuda::CudaOptions o;
    std::tie(o.rmsnorm, o.matvec, o.gemm) = GetParam();
    return o;
  }
};

TEST_P(CudaOps, RowOpsMatchTheCpu) {
  REQUIRE_GPU();
  auto g = gpu(options());
  auto c = cpu_reference();
  for (const int rows : {1, 5})
    for (const int dim : {576, 65, 7}) {
      const size_t n = static_cast<size_t>(rows) * dim;
      const auto x = t::random_floats(n, dim, -4, 4), y = t::random_floats(n, dim + 1);
      const auto w = t::random_floats(static_cast<size_t>(dim), dim + 2);
      // rmsnorm (the norm weights are host memory in the model: the backend uploads them)
      std::vector<float> want(n);
      float* gx = filled(*g, x);
      float* gout = g->alloc(n);
      c->rmsnorm(x.data(), w.data(), rows, dim, 1e-5f, want.data());
      g->rmsnorm(gx, w.data(), rows, dim, 1e-5f, gout);
      EXPECT_LT(t::max_rel_diff(read(*g, gout, n), want, 1e-3), 1e-5) << "rmsnorm " << dim;
      // silu_mul and add
      std::vector<float> cs = x;
      float* gy = filled(*g, y);
      c->silu_mul(cs.data(), y.data(), rows, dim);
      g->silu_mul(gx, gy, rows, dim);
      EXPECT_LT(t::max_rel_diff(read(*g, gx, n), cs, 1e-3), 1e-5) << "silu_mul " << dim;
      c->add(cs.data(), y.data(), rows, dim);
      g->add(gx, gy, rows, dim);
      EXPECT_LT(t::max_rel_diff(read(*g, gx, n), cs, 1e-3), 1e-5) << "add " << dim;
    }
}

TEST_P(CudaOps, RopeMatchesTheCpuForBothLayouts) {
  REQUIRE_GPU();
  auto g = gpu(options());
  auto c = cpu_reference();
  const int n = 5, heads = 3, head_dim = 64, stride = heads * head_dim;
  const std::vector<int32_t> pos = {0, 1, 17, 300, 4095};
  for (const RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::HalfSplit}) {
    auto x = t::random_floats(static_cast<size_t>(n) * stride, 9);
    float* gx = filled(*g, x);
    c->rope(x.data(), stride, pos.data(), n, heads, head_dim, 10000.0f, layout);
    g->rope(gx, stride, pos.data(), n, heads, head_dim, 10000.0f, layout);
    EXPECT_LT(t::max_abs_diff(read(*g, gx, x.size()), x), 2e-5);
  }
}

// Every weight dtype with a kernel, at odd sizes, for 1 token (decode), a few (the matvec
// kernels' batches) and 70 (prefill: cuBLAS or the tiled kernels), against the exact product of
// the dequantized weight computed in double on the host.
TEST_P(CudaOps, MatmulOfEveryDtypeMatchesTheExactProduct) {
  REQUIRE_GPU();
  auto g = gpu(options());
  for (const DType type :
       {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    const int block = static_cast<int>(dtype_layout(type).block_size);
    for (const int rows : {37, 100})
      for (const int cols :
           block > 1 ? std::vector<int>{3 * block, 18 * block} : std::vector<int>{67, 576}) {
        const Tensor w = random_weight(type, rows, cols, static_cast<uint64_t>(rows * cols));
        const Tensor wf = dequantize_tensor(w);
        const PreparedWeight* pw = g->prepare(w);
        for (const int n : {1, 3, 17, 70}) {
          const auto x = t::random_floats(static_cast<size_t>(n) * cols, n + cols, -2, 2);
          std::vector<float> want(static_cast<size_t>(n) * rows);
          for (int i = 0; i < n; ++i)
            for (int r = 0; r < rows; ++r) {
              double s = 0;
              for (int j = 0; j < cols; ++j)
                s += double{wf.as<float>()[static_cast<size_t>(r) * cols + j]} *
                     x[static_cast<size_t>(i) * cols + j];
              want[static_cast<size_t>(i) * rows + r] = static_cast<float>(s);
            }
          float* gx = filled(*g, x);
          float* gy = g->alloc(want.size());
          const MatmulJob job{pw, gy};
          g->matmul({&job, 1}, gx, n);
          const double e = t::nmse(read(*g, gy, want.size()), want);
          EXPECT_LT(e, 1e-10) << dtype_name(type) << " rows " << rows << " cols " << cols << " n "
                              << n;
        }
      }
  }
}

TEST_P(CudaOps, EmbeddingRowsAndGatheredRowsMatchTheCpu) {
  REQUIRE_GPU();
  auto g = gpu(options());
  auto c = cpu_reference();
  const std::vector<int32_t> tokens = {0, 5, 36, 5};
  for (const DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    const Tensor table = random_weight(type, 37, 64, 4);
    std::vector<float> want(tokens.size() * 64);
    c->embed(table, tokens.data(), 4, 64, want.data());
    float* gx = g->alloc(want.size());
    g->embed(table, tokens.data(), 4, 64, gx);
    EXPECT_EQ(read(*g, gx, want.size()), want) << dtype_name(type);
    const int rows[] = {3, 0};
    float* gout = g->alloc(2 * 64);
    g->gather_rows(gx, rows, 2, 64, gout);
    const auto got = read(*g, gout, 128);
    EXPECT_TRUE(std::equal(got.begin(), got.begin() + 64, want.begin() + 3 * 64));
    EXPECT_TRUE(std::equal(got.begin() + 64, got.end(), want.begin()));
  }
}

INSTANTIATE_TEST_SUITE_P(KernelVersions, CudaOps,
                         ::testing::Values(std::make_tuple(1, 1, 1), std::make_tuple(2, 2, 2),
                                           std::make_tuple(2, 2, 0)));

// With batch_invariant, a token's matmul row is the same bits whatever shares its batch.
TEST(CudaOps, BatchInvariantMatmulGivesEachTokenItsAloneBits) {
  REQUIRE_GPU();
  cuda::CudaOptions o;
  o.batch_invariant = true;
  auto g = gpu(o);
  const Tensor w = random_weight(DType::Q4_1, 100, 576, 3);
  const PreparedWeight* pw = g->prepare(w);
  const int n = 70;
  const auto x = t::random_floats(static_cast<size_t>(n) * 576, 8);
  float* gx = filled(*g, x);
  float* all = g->alloc(static_cast<size_t>(n) * 100);
  const MatmulJob job{pw, all};
  g->matmul({&job, 1}, gx, n);
  const auto together = read(*g, all, static_cast<size_t>(n) * 100);
  for (const int i : {0, 37, 69}) {
    float* one = g->alloc(100);
    const MatmulJob j1{pw, one};
    g->matmul({&j1, 1}, gx + static_cast<size_t>(i) * 576, 1);
    const auto alone = read(*g, one, 100);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), together.begin() + i * 100)) << i;
  }
}

// The paged-attention kernel against the CPU's attention: several sequences with random lengths,
// a forked pair sharing blocks, the block tables scattered over the pool; f32 and f16 caches.
TEST(CudaAttention, PagedKernelMatchesTheCpuOverRandomBlockTables) {
  REQUIRE_GPU();
  ModelConfig c = t::tiny_llama_config();  // 6 heads / 2 KV heads of 8
  c.n_layers = 2;
  const auto device_memory = cuda::make_device_kv_memory(0);
  for (const DType dtype : {DType::F32, DType::F16}) {
    PagedKvOptions o;
    o.block_size = 4;
    o.n_blocks = 64;
    o.max_seqs = 4;
    o.max_tokens = 60;
    o.dtype = dtype;
    PagedKvCache host(c, o);
    o.memory = device_memory.get();
    PagedKvCache dev(c, o);
    auto cb = cpu_reference();
    auto g = gpu();
    cb->reserve(64, c.q_dim(), 60, c.head_dim);
    g->reserve(64, c.q_dim(), 60, c.head_dim);
    std::mt19937 rng(5);
    // Fill: seq 0 and 1 and 2 with random lengths, interleaved so their blocks scatter; fork 0
    // into 3 and extend both.
    auto feed = [&](const Batch& b) {
      for (PagedKvCache* cache : {&host, &dev}) cache->begin_batch(b);
      const int n = b.size();
      const auto k = t::random_floats(static_cast<size_t>(n) * c.kv_dim(), rng());
      const auto v = t::random_floats(static_cast<size_t>(n) * c.kv_dim(), rng());
      float* gk = filled(*g, k);
      float* gv = filled(*g, v);
      auto gq = t::random_floats(static_cast<size_t>(n) * c.q_dim(), rng());
      float* gqd = filled(*g, gq);
      float* gout = g->alloc(gq.size());
      std::vector<float> want(gq.size());
      // The GPU path wants the embedding first (it starts a pass there): a 1-row dummy table.
      const Tensor dummy = Tensor::from_f32(std::vector<float>(8, 0.0f), {1, 8});
      std::vector<int32_t> zeros(static_cast<size_t>(n), 0);
      float* scratch = g->alloc(static_cast<size_t>(n) * 8);
      g->embed(dummy, zeros.data(), n, 8, scratch);
      for (int l = 0; l < c.n_layers; ++l) {
        cb->store_kv(host, l, b, k.data(), v.data());
        g->store_kv(dev, l, b, gk, gv);
        const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, n};
        cb->attention(host, l, b, gq.data(), shape, want.data());
        g->attention(dev, l, b, gqd, shape, gout);
        EXPECT_LT(t::max_rel_diff(read(*g, gout, want.size()), want, 1e-2),
                  dtype == DType::F32 ? 1e-5 : 2e-3)
            << dtype_name(dtype) << " layer " << l;
      }
      for (PagedKvCache* cache : {&host, &dev}) cache->end_batch(b);
    };
    int len[4] = {0, 0, 0, 0};
    for (int round = 0; round < 4; ++round) {
      Batch b;
      for (int s = 0; s < 3; ++s) {
        const int add = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < add; ++i, ++len[s]) b.add(1, len[s], s, true);
      }
      feed(b);
    }
    for (PagedKvCache* cache : {&host, &dev}) cache->fork(0, 3);
    len[3] = len[0];
    Batch b;
    for (const int s : {0, 3})
      for (int i = 0; i < 3; ++i, ++len[s]) b.add(1, len[s], s, true);  // copy-on-write
    feed(b);
  }
}

// Greedy generation on the GPU against the CPU's reference kernels.
void check_generation(const Model& m, const std::vector<int32_t>& prompt, int n,
                      const std::string& what) {
  PagedKvOptions o;
  o.max_seqs = 1;
  o.max_tokens = static_cast<int>(prompt.size()) + n + 1;
  o.n_blocks = (o.max_tokens + 15) / 16;
  PagedKvCache host(m.config, o);
  auto cb = cpu_reference();
  Transformer ref(m, *cb, host, 64);
  const t::Trace want = t::greedy(ref, prompt, n);
  const auto device_memory = cuda::make_device_kv_memory(0);
  o.memory = device_memory.get();
  PagedKvCache dev(m.config, o);
  auto g = gpu();
  Transformer tr(m, *g, dev, 64);
  const t::Trace got = t::greedy(tr, prompt, n);
  t::expect_same_or_near_tie(want, got, what);
  for (const OpStats& s : g->stats()) EXPECT_EQ(s.fallbacks, 0u) << what << ": " << s.op;
}

TEST(CudaGeneration, RandomModelsInEveryDtypeMatchTheCpu) {
  REQUIRE_GPU();
  ModelConfig c = t::tiny_llama_config();  // widened so every matrix splits into 32-blocks
  c.dim = 64;
  c.hidden_dim = 128;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  const TensorMap f32 = t::random_llama_weights(c, 3);
  for (const DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    TensorMap w = f32;
    if (type != DType::F32)
      for (auto& [name, tensor] : w)
        if (tensor.shape().ndim == 2 && tensor.cols() % 32 == 0)
          tensor = quantize_tensor(tensor, type);
    const Model m = Model::from_tensors(c, w, "tiny");
    check_generation(m, {1, 5, 9, 33}, 24, "tiny " + std::string(dtype_name(type)));
  }
}

TEST(CudaGeneration, Stories260KMatchesTheCpu) {
  REQUIRE_GPU();
  const std::string path = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel lm = load_model(path);
  check_generation(*lm.model, {1, 403, 407, 261, 378}, 64, "stories260K");
}

}  // namespace
