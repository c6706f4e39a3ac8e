// The drivers of the fast matmuls: the prepare step that repacks a quantized weight into
// interleaved row groups, and the run step that quantizes the activations once and splits the
// row groups over the threads. The arithmetic lives in the leaf kernels (x86/*.cpp).
#include "matmul_packed.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "llm/quant/blocks.h"
#include "llm/quant/codecs.h"
#include "llm/quant/quant_type.h"

namespace llm::simd {
namespace {

// The file's block type and dtype of each packed type.
template <PackedType P>
using FileBlock =
    std::conditional_t<P == PackedType::Q4_0, block_q4_0,
                       std::conditional_t<P == PackedType::Q4_1, block_q4_1, block_q8_0>>;
template <PackedType P>
constexpr DType kFileType = P == PackedType::Q4_0   ? DType::Q4_0
                            : P == PackedType::Q4_1 ? DType::Q4_1
                                                    : DType::Q8_0;

// Copies row r's block (d, Q4_1's m, the quants) into slot r of a packed group block.
template <class Block>
void scatter(const Block& src, int r, uint8_t* dst) {
  std::memcpy(dst + 2 * r, &src.d, 2);
  uint8_t* qs = dst + 32;
  if constexpr (requires(const Block& blk) { blk.m; }) {
    std::memcpy(dst + 32 + 2 * r, &src.m, 2);
    qs = dst + 64;
  }
  for (size_t k = 0; k < sizeof(src.qs) / 4; ++k)
    std::memcpy(qs + 64 * k + 4 * r, &src.qs[4 * k], 4);
}

}  // namespace

const PackedMatrix& packed_matrix(const PreparedWeight& w) {
  return *reinterpret_cast<const PackedMatrix*>(w.packed.get());
}

template <PackedType P>
bool prepare_packed(const Tensor& w, PreparedWeight& out) {
  using Block = FileBlock<P>;
  if (w.dtype() != kFileType<P> || w.cols() % kQK != 0 || w.rows() <= 0) return false;
  PackedMatrix m;
  m.rows = w.rows();
  m.cols = w.cols();
  m.groups = (m.rows + kGroupRows - 1) / kGroupRows;
  m.blocks = m.cols / kQK;
  m.block_bytes = kGroupRows * sizeof(Block);  // the same bytes as 16 rows' blocks
  m.type = P;
  const size_t body = m.group_bytes() * static_cast<size_t>(m.groups);
  auto* mem = static_cast<uint8_t*>(std::aligned_alloc(64, 64 + (body + 63) / 64 * 64));
  if (!mem) return false;
  std::memset(mem, 0, 64 + body);
  m.data = mem + 64;
  std::memcpy(mem, &m, sizeof m);  // the header in front of the groups
  static_assert(sizeof(PackedMatrix) <= 64);
  for (int64_t g = 0; g < m.groups; ++g)
    for (int64_t b = 0; b < m.blocks; ++b) {
      uint8_t* dst = mem + 64 + static_cast<size_t>(g) * m.group_bytes() +
                     static_cast<size_t>(b) * m.block_bytes;
      for (int r = 0; r < kGroupRows && g * kGroupRows + r < m.rows; ++r) {
        scatter(reinterpret_cast<const Block*>(w.row(g * kGroupRows + r))[b], r, dst);
      }
    }
  out.packed = std::shared_ptr<const std::byte>(
      reinterpret_cast<const std::byte*>(mem),
      [](const std::byte* p) { std::free(const_cast<std::byte*>(p)); });
  out.packed_bytes = body;
  return true;
}

template bool prepare_packed<PackedType::Q4_0>(const Tensor&, PreparedWeight&);
template bool prepare_packed<PackedType::Q4_1>(const Tensor&, PreparedWeight&);
template bool prepare_packed<PackedType::Q8_0>(const Tensor&, PreparedWeight&);

namespace {
size_t align64(size_t v) {
  return (v + 63) / 64 * 64;
}
}  // namespace

size_t quantized_bytes(int n, int64_t cols) {
  const size_t rows = static_cast<size_t>(n), nb = static_cast<size_t>(cols / kQK);
  return align64(rows * static_cast<size_t>(cols)) + 3 * align64(rows * nb * 4);
}

void quantize_rows(const ExecContext& ctx, const float* x, int n, int64_t cols, std::byte* base,
                   int64_t r0, int64_t r1, int t, bool vector, QuantizedRows& out) {
  // Layout at base: qs [n][cols], then d, s, sum [n][blocks], each 64-byte aligned.
  const int64_t nb = cols / kQK;
  const size_t qs_bytes = align64(static_cast<size_t>(n) * static_cast<size_t>(cols));
  const size_t f_bytes = align64(static_cast<size_t>(n) * static_cast<size_t>(nb) * 4);
  auto* qs = reinterpret_cast<int8_t*>(base);
  auto* d = reinterpret_cast<float*>(base + qs_bytes);
  auto* s = reinterpret_cast<float*>(base + qs_bytes + f_bytes);
  auto* sum = reinterpret_cast<int32_t*>(base + qs_bytes + 2 * f_bytes);
  out = {qs, d, s, sum, n, nb};
#if defined(__x86_64__)
  if (vector) {
    quantize_rows_avx512(x, r0, r1, cols, qs, d, s, sum);
    return;
  }
#endif
  // Chapter 6's x86 activation quantizer, so the codes equal the reference path's; then
  // unpacked for SIMD (scales widened, block sums kept).
  auto* tmp = reinterpret_cast<block_q8_1*>(ctx.thread_scratch(t));
  for (int64_t i = r0; i < r1; ++i) {
    quantize_activation_q8_1(x + i * cols, tmp, cols);
    for (int64_t b = 0; b < nb; ++b) {
      const block_q8_1& blk = tmp[b];
      int acc = 0;
      for (int j = 0; j < kQK; ++j) acc += blk.qs[j];
      std::memcpy(qs + i * cols + b * kQK, blk.qs, kQK);
      d[i * nb + b] = f16_to_f32(blk.d);
      s[i * nb + b] = f16_to_f32(blk.s);
      sum[i * nb + b] = acc;
    }
  }
}

}  // namespace llm::simd
