#include "llm/config/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "llm/config/error.h"

namespace llm {
namespace {

struct Entry {
  DType type;
  DTypeLayout layout;
};

constexpr std::array<Entry, 9> kLayouts{{
    {DType::F32, {"f32", 1, 4, false}},
    {DType::F16, {"f16", 1, 2, false}},
    {DType::BF16, {"bf16", 1, 2, false}},
    {DType::Q4_0, {"q4_0", 32, 18, true}},    // f16 d, 16 bytes of nibbles
    {DType::Q4_1, {"q4_1", 32, 20, true}},    // f16 d, f16 m, 16 bytes of nibbles
    {DType::Q8_0, {"q8_0", 32, 34, true}},    // f16 d, 32 int8
    {DType::Q8_1, {"q8_1", 32, 36, true}},    // f16 d, f16 s, 32 int8
    {DType::Q4_K, {"q4_k", 256, 144, true}},  // f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes
    {DType::Q6_K, {"q6_k", 256, 210, true}},  // 128 low, 64 high, 16 int8 scales, f16 d
}};
// Q8_K (f32 d, 256 int8, 16 int16 sums) is chapter 6's activation type for K-quants.
constexpr Entry kQ8K{DType::Q8_K, {"q8_k", 256, 292, true}};

const Entry* find(uint32_t id) {
  for (const Entry& e : kLayouts)
    if (static_cast<uint32_t>(e.type) == id) return &e;
  if (id == static_cast<uint32_t>(DType::Q8_K)) return &kQ8K;
  return nullptr;
}

}  // namespace

const DTypeLayout& dtype_layout(DType t) {
  const Entry* e = find(static_cast<uint32_t>(t));
  if (!e) throw Error("unknown dtype id " + std::to_string(static_cast<uint32_t>(t)));
  return e->layout;
}

std::optional<DType> dtype_from_id(uint32_t id) {
  if (const Entry* e = find(id)) return e->type;
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const Entry& e : kLayouts)
    if (e.layout.name == name) return e.type;
  if (kQ8K.layout.name == name) return kQ8K.type;
  return std::nullopt;
}

size_t row_bytes(DType t, int64_t n) {
  const DTypeLayout& l = dtype_layout(t);
  if (n < 0 || n % l.block_size != 0)
    throw Error("a row of " + std::to_string(n) + " values cannot be stored as " +
                std::string(l.name) + " (blocks of " + std::to_string(l.block_size) + ")");
  return static_cast<size_t>(n / l.block_size * l.block_bytes);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {  // inf / nan
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {  // normal
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {  // zero
    bits = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or nan (keep nan quiet)
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {  // result is subnormal or zero: scale into an exact integer
    const float r = std::bit_cast<float>(abs) * 16777216.0f;  // * 2^24: units of 2^-24
    const float rounded = std::nearbyint(r);                  // ties to even (default mode)
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(rounded));
  }
  // normal: rebias exponent, round mantissa 23 -> 10 bits to nearest even
  uint32_t m = abs + 0xc8000000u;  // exponent - 112
  m += 0x0fffu + ((m >> 13) & 1u);
  return static_cast<uint16_t>(sign | (m >> 13));
}

float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

uint16_t f32_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // nan
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace llm
