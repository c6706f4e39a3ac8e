// Tensor — a typed, shaped view of memory that may or may not own it.
//
// Shapes are written outermost first, as in C: a weight matrix is {rows, cols} = {out, in},
// and row r starts at r * row_bytes. (GGUF lists extents innermost first; chapter 10 flips
// them when it builds tensors.) Storage is shared: a tensor borrowed from a memory-mapped file
// keeps the mapping alive through `owner`, so weights are never copied out of the file.
// Chapter 9 plugs in here with a device other than CPU.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llm/config/dtype.h"

namespace llm {

enum class Device { CPU };  // chapter 9 adds CUDA

inline constexpr int kMaxDims = 4;

struct Shape {
  std::array<int64_t, kMaxDims> dims{};  // outermost first
  int ndim = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);
  static Shape of(std::span<const int64_t> d);
  int64_t operator[](int i) const { return dims[static_cast<size_t>(i)]; }
  int64_t numel() const;
  int64_t cols() const { return ndim ? dims[static_cast<size_t>(ndim - 1)] : 1; }  // innermost
  int64_t rows() const { return ndim ? numel() / cols() : 1; }  // everything but the innermost
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[49152, 576]"
};

class Tensor {
 public:
  Tensor() = default;
  // A new zero-filled tensor that owns its memory.
  static Tensor zeros(DType dtype, Shape shape);
  // A view of memory owned elsewhere; `owner` (may be null) keeps it alive.
  static Tensor borrow(const void* data, DType dtype, Shape shape,
                       std::shared_ptr<const void> owner = nullptr);
  // f32 copy of float data (tests, small synthetic models).
  static Tensor from_f32(std::span<const float> values, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  Device device() const { return Device::CPU; }
  bool empty() const { return data_ == nullptr; }
  int64_t numel() const { return shape_.numel(); }
  int64_t rows() const { return shape_.rows(); }
  int64_t cols() const { return shape_.cols(); }
  size_t row_stride() const { return row_stride_; }  // bytes between consecutive rows
  size_t nbytes() const { return row_stride_ * static_cast<size_t>(rows()); }

  const void* data() const { return data_; }
  void* mutable_data() { return const_cast<void*>(data_); }  // only for owning tensors
  const std::byte* row(int64_t r) const {
    return static_cast<const std::byte*>(data_) + static_cast<size_t>(r) * row_stride_;
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  template <class T>
  T* mutable_as() {
    return static_cast<T*>(mutable_data());
  }

  // Converts an f32/f16/bf16 tensor to a flat f32 vector (quantized types: chapter 6's codecs).
  std::vector<float> to_f32() const;
  // The same memory seen with another shape of equal size.
  Tensor reshaped(Shape shape) const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  size_t row_stride_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<const void> owner_;
};

// Converts n scalar values of an f32/f16/bf16 buffer to f32.
void scalar_to_f32(DType dtype, const void* src, float* dst, int64_t n);

}  // namespace llm
