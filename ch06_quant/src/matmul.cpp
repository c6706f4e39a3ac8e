// The reference quantized matmul and the table of quantized weight types.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "llm/config/error.h"
#include "llm/quant/quant_type.h"

namespace llm {

namespace {

constexpr std::array<QuantType, 5> kQuantTypes{{
    {DType::Q8_0, DType::Q8_0, &quantize_row_q8_0_ref, &dequantize_row_q8_0,
     &quantize_activation_q8_0, &vec_dot_q8_0_q8_0, &matmul_q8_0_ref},
    {DType::Q4_0, DType::Q8_0, &quantize_row_q4_0_ref, &dequantize_row_q4_0,
     &quantize_activation_q8_0, &vec_dot_q4_0_q8_0, &matmul_q4_0_ref, &vec_dot_q4_0_q8_0_serial},
    {DType::Q4_1, DType::Q8_1, &quantize_row_q4_1_ref, &dequantize_row_q4_1,
     &quantize_activation_q8_1, &vec_dot_q4_1_q8_1, &matmul_q4_1_ref},
    {DType::Q4_K, DType::Q8_K, &quantize_row_q4_K_ref, &dequantize_row_q4_K, &quantize_row_q8_K_ref,
     &vec_dot_q4_K_q8_K, &matmul_q4_K_ref},
    {DType::Q6_K, DType::Q8_K, &quantize_row_q6_K_ref, &dequantize_row_q6_K, &quantize_row_q8_K_ref,
     &vec_dot_q6_K_q8_K, &matmul_q6_K_ref},
}};
// The matmul_*_ref wrappers below index the table directly.
static_assert(kQuantTypes[0].weight == DType::Q8_0 && kQuantTypes[1].weight == DType::Q4_0 &&
              kQuantTypes[2].weight == DType::Q4_1 && kQuantTypes[3].weight == DType::Q4_K &&
              kQuantTypes[4].weight == DType::Q6_K);

}  // namespace

std::span<const QuantType> quant_types() {
  return kQuantTypes;
}

const QuantType* find_quant_type(DType weight) {
  for (const QuantType& t : kQuantTypes)
    if (t.weight == weight) return &t;
  return nullptr;
}

void matmul_quantized_ref(const QuantType& t, const Tensor& w, const float* x, int n, float* y) {
  const DTypeLayout& layout = dtype_layout(t.weight);
  if (w.dtype() != t.weight)
    throw Error("matmul/" + std::string(layout.name) + " was given a " +
                std::string(dtype_name(w.dtype())) + " weight " + w.shape().str());
  const int64_t k = w.cols();
  const int64_t rows = w.rows();
  if (k % layout.block_size != 0)
    throw Error("matmul/" + std::string(layout.name) + ": weight " + w.shape().str() + " has " +
                std::to_string(k) + " columns, not a multiple of the block size " +
                std::to_string(layout.block_size));

  // Quantize each activation row once; every weight row reuses it. The buffer belongs to the
  // thread and only grows, so steady-state calls allocate nothing.
  const size_t xq_row = row_bytes(t.activation, k);
  thread_local std::vector<std::byte> xq;
  if (xq.size() < xq_row * static_cast<size_t>(n)) xq.resize(xq_row * static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t.quantize_activation(x + i * k, xq.data() + i * xq_row, k);

  // llama.cpp (x86) repacks a matrix of 8k rows of some types into interleaved 8-row blocks,
  // and its kernels for those sum in their own order.
  const VecDotFn dot = t.dot_for(rows);
  // Weight row outer: a row is read from memory once and meets all n activation rows while it
  // is in cache — decoding (n = 1) is bound by the bytes of the weights, nothing else.
  for (int64_t r = 0; r < rows; ++r) {
    const std::byte* wr = w.row(r);
    for (int i = 0; i < n; ++i) y[i * rows + r] = dot(wr, xq.data() + i * xq_row, k);
  }
}

void matmul_q8_0_ref(const Tensor& w, const float* x, int n, float* y) {
  matmul_quantized_ref(kQuantTypes[0], w, x, n, y);
}
void matmul_q4_0_ref(const Tensor& w, const float* x, int n, float* y) {
  matmul_quantized_ref(kQuantTypes[1], w, x, n, y);
}
void matmul_q4_1_ref(const Tensor& w, const float* x, int n, float* y) {
  matmul_quantized_ref(kQuantTypes[2], w, x, n, y);
}
void matmul_q4_K_ref(const Tensor& w, const float* x, int n, float* y) {
  matmul_quantized_ref(kQuantTypes[3], w, x, n, y);
}
void matmul_q6_K_ref(const Tensor& w, const float* x, int n, float* y) {
  matmul_quantized_ref(kQuantTypes[4], w, x, n, y);
}

}  // namespace llm
