// Whole-tensor conversions: any known dtype to f32, and f32 (or anything) to any storage dtype.
#include <algorithm>
#include <string>
#include <vector>

#include "llm/config/error.h"
#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"

namespace llm {

void row_to_f32(DType dtype, const void* src, float* dst, int64_t n) {
  if (!dtype_layout(dtype).quantized) return scalar_to_f32(dtype, src, dst, n);
  if (const QuantType* t = find_quant_type(dtype)) return t->dequantize(src, dst, n);
  if (dtype == DType::Q8_K) return dequantize_row_q8_K(src, dst, n);
  throw Error("cannot convert " + std::string(dtype_name(dtype)) +
              " to f32 (an activation-only type without a decoder)");
}

Tensor dequantize_tensor(const Tensor& src) {
  Tensor out = Tensor::zeros(DType::F32, src.shape());
  float* dst = out.mutable_as<float>();
  for (int64_t r = 0; r < src.rows(); ++r)
    row_to_f32(src.dtype(), src.row(r), dst + r * src.cols(), src.cols());
  return out;
}

Tensor quantize_tensor(const Tensor& src, DType target) {
  const DTypeLayout& layout = dtype_layout(target);
  const QuantType* t = find_quant_type(target);
  if (layout.quantized && !t)
    throw Error("cannot quantize a tensor to " + std::string(layout.name) +
                " (an activation-only type); use q8_0, q4_0, q4_1, q4_k or q6_k");
  const int64_t k = src.cols();
  if (k % layout.block_size != 0)
    throw Error("cannot store a tensor of shape " + src.shape().str() + " as " +
                std::string(layout.name) + ": its rows of " + std::to_string(k) +
                " values do not split into blocks of " + std::to_string(layout.block_size) +
                " (keep it in f32/f16)");

  Tensor out = Tensor::zeros(target, src.shape());
  std::vector<float> row(static_cast<size_t>(k));
  auto* dst = static_cast<std::byte*>(out.mutable_data());
  for (int64_t r = 0; r < src.rows(); ++r) {
    row_to_f32(src.dtype(), src.row(r), row.data(), k);
    void* out_row = dst + static_cast<size_t>(r) * out.row_stride();
    switch (target) {
      case DType::F32:
        std::copy(row.begin(), row.end(), static_cast<float*>(out_row));
        break;
      case DType::F16:
      case DType::BF16: {
        auto* h = static_cast<uint16_t*>(out_row);
        for (int64_t i = 0; i < k; ++i)
          h[i] = target == DType::F16 ? f32_to_f16(row[static_cast<size_t>(i)])
                                      : f32_to_bf16(row[static_cast<size_t>(i)]);
        break;
      }
      default:
        t->quantize(row.data(), out_row, k);
    }
  }
  return out;
}

}  // namespace llm
