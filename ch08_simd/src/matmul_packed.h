// Private to chapter 8: the repacked weights and the activation quantizer the drivers share.
#pragma once

#include "llm/transformer/kernels.h"
#include "x86/leaf_kernels.h"

namespace llm::simd {

// The packed matrix a prepare_packed<P> wrote in front of its groups.
const PackedMatrix& packed_matrix(const PreparedWeight& w);
template <PackedType P>
bool prepare_packed(const Tensor& w, PreparedWeight& out);

// Bytes the quantized activations of n rows of `cols` values take (QuantizedRows' arrays).
size_t quantized_bytes(int n, int64_t cols);
// Describes n quantized rows laid out at `base` in `out`, and quantizes rows [r0, r1) of x
// there; thread t's scratch holds one row of Q8_1 blocks. `vector`: with the AVX-512 quantizer
// (the same codes), else chapter 6's scalar one.
void quantize_rows(const ExecContext& ctx, const float* x, int n, int64_t cols, std::byte* base,
                   int64_t r0, int64_t r1, int t, bool vector, QuantizedRows& out);

}  // namespace llm::simd
