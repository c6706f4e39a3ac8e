// DType — the element types a tensor can hold, and their memory layout.
//
// The numeric ids are ggml's, so a GGUF tensor's type field maps straight onto DType. This
// chapter computes with F32, F16 and BF16 only; the block-quantized types are declared here
// because their *layout* (values per block, bytes per block) is what a file reader needs to
// size a tensor. Chapter 6 plugs in their codecs and dot products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llm {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,   // chapter 6
  Q4_1 = 3,   // chapter 6
  Q8_0 = 8,   // chapter 6
  Q8_1 = 9,   // chapter 6 (activations only)
  Q4_K = 12,  // chapter 6
  Q6_K = 14,  // chapter 6
  Q8_K = 15,  // chapter 6 (activations only)
  BF16 = 30,
};
inline constexpr uint32_t kMaxDTypeId = 31;  // dtype ids are < this; tables index by id

struct DTypeLayout {
  std::string_view name;  // "f32", "q4_1", ... (as ggml and llama.cpp spell them)
  int64_t block_size;     // values per block (1 for scalar types)
  int64_t block_bytes;    // bytes per block
  bool quantized;
};

// Layout of a dtype; throws llm::Error for an id this engine does not know.
const DTypeLayout& dtype_layout(DType t);
// DType for a ggml type id, or nullopt when the id is not one of ours.
std::optional<DType> dtype_from_id(uint32_t id);
std::optional<DType> dtype_from_name(std::string_view name);
inline std::string_view dtype_name(DType t) {
  return dtype_layout(t).name;
}

// Bytes taken by a row of n values; throws if n is not a multiple of the block size.
size_t row_bytes(DType t, int64_t n);

// ---- scalar conversions (IEEE half and bfloat16, round to nearest even) ----
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace llm
