#include "llm/config/tensor.h"

#include <cstring>
#include <sstream>

#include "llm/config/error.h"

namespace llm {

Shape::Shape(std::initializer_list<int64_t> d) {
  if (d.size() > kMaxDims) throw Error("a shape has at most 4 dimensions");
  for (int64_t x : d) dims[static_cast<size_t>(ndim++)] = x;
}

Shape Shape::of(std::span<const int64_t> d) {
  if (d.size() > kMaxDims) throw Error("a shape has at most 4 dimensions");
  Shape s;
  for (int64_t x : d) s.dims[static_cast<size_t>(s.ndim++)] = x;
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= dims[static_cast<size_t>(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (dims[static_cast<size_t>(i)] != o.dims[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream s;
  s << '[';
  for (int i = 0; i < ndim; ++i) s << (i ? ", " : "") << dims[static_cast<size_t>(i)];
  s << ']';
  return s.str();
}

Tensor Tensor::borrow(const void* data, DType dtype, Shape shape,
                      std::shared_ptr<const void> owner) {
  for (int i = 0; i < shape.ndim; ++i)
    if (shape[i] <= 0) throw Error("tensor extents must be positive, got " + shape.str());
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.row_stride_ = row_bytes(dtype, shape.cols());
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  const size_t bytes = row_bytes(dtype, shape.cols()) * static_cast<size_t>(shape.rows());
  auto mem = std::shared_ptr<std::byte[]>(new std::byte[bytes]());
  const void* p = mem.get();
  return borrow(p, dtype, shape, std::shared_ptr<const void>(mem, p));
}

Tensor Tensor::from_f32(std::span<const float> values, Shape shape) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw Error("from_f32: " + std::to_string(values.size()) + " values do not fill shape " +
                shape.str());
  Tensor t = zeros(DType::F32, shape);
  std::memcpy(t.mutable_data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape.numel() != numel())
    throw Error("cannot reshape " + shape_.str() + " to " + shape.str());
  return borrow(data_, dtype_, shape, owner_);
}

void scalar_to_f32(DType dtype, const void* src, float* dst, int64_t n) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    default:
      throw Error("cannot convert " + std::string(dtype_name(dtype)) +
                  " with the scalar converters (quantized codecs live in chapter 6)");
  }
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  for (int64_t r = 0; r < rows(); ++r)
    scalar_to_f32(dtype_, row(r), out.data() + r * cols(), cols());
  return out;
}

}  // namespace llm
