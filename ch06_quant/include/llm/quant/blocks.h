// Block layouts of the GGUF (ggml) quantized types, bit for bit.
//
// A quantized row is an array of blocks; each block stores a few scales and many small integers,
// and the value of element j is (integer_j · scale [+ offset]). These structs are the exact byte
// layouts of ggml's block_* types (same names, same field order, same sizes), so a tensor read
// from a GGUF file is an array of them with no conversion. fp16 fields are kept as raw uint16_t
// bits and converted with f16_to_f32 / f32_to_f16 (chapter 1).
//
// Weights use Q8_0, Q4_0, Q4_1, Q4_K and Q6_K. Q8_1 and Q8_K exist only for *activations*: the
// matmul quantizes its input row into the partner type of the weights, so that the inner loop is
// an integer dot product (see vec_dot.h).
#pragma once

#include <cstdint>

namespace llm {

inline constexpr int kQK = 32;           // values per block: Q8_0, Q4_0, Q4_1, Q8_1
inline constexpr int kQK_K = 256;        // values per super-block: Q4_K, Q6_K, Q8_K
inline constexpr int kKScaleBytes = 12;  // Q4_K: 8 six-bit scales + 8 six-bit mins, packed

// value_j = qs[j] · d
struct block_q8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK];
};

// value_j = (nibble_j − 8) · d. Byte j holds element j (low nibble) and element j+16 (high).
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};

// value_j = nibble_j · d + m (same nibble order as Q4_0)
struct block_q4_1 {
  uint16_t d;
  uint16_t m;  // fp16 minimum of the block
  uint8_t qs[kQK / 2];
};

// Activations for Q4_1 weights: value_j = qs[j] · d, and s = d · Σ qs caches the block sum so
// the dot product can apply Q4_1's offset m without touching the 32 values again.
struct block_q8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};

// 256 values in 8 sub-blocks of 32. Sub-block j has a 6-bit scale sc_j and a 6-bit min m_j:
// value = d·sc_j·nibble − dmin·m_j. The 64-value group g (sub-blocks 2g and 2g+1) lives in
// qs[32g .. 32g+31]: low nibbles are sub-block 2g, high nibbles sub-block 2g+1.
// scales[12]: bytes 0-3  = sc_0..3 (low 6 bits) | high 2 bits of sc_4..7 in bits 6-7
//             bytes 4-7  = m_0..3  (low 6 bits) | high 2 bits of m_4..7  in bits 6-7
//             bytes 8-11 = low 4 bits of sc_4..7 | low 4 bits of m_4..7 << 4
struct block_q4_K {
  uint16_t d;     // fp16 super-scale of the scales
  uint16_t dmin;  // fp16 super-scale of the mins
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};

// 256 values in 16 sub-blocks of 16, each with a signed 8-bit scale: value = d·scale·(q − 32),
// q a 6-bit integer split into 4 low bits (ql) and 2 high bits (qh). Within each half of 128
// values, ql[l] holds values l (low nibble) and l+64 (high), ql[l+32] holds l+32 and l+96, and
// qh[l] holds the high bits of l, l+32, l+64, l+96 in bit pairs 0-1, 2-3, 4-5, 6-7.
struct block_q6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16, stored last
};

// Activations for K-quant weights: an f32 scale (not fp16), 256 int8 values and the sum of each
// run of 16 values, which lets Q4_K apply its mins with 16 multiplications instead of 256.
struct block_q8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);

}  // namespace llm
