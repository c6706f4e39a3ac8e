// Private to chapter 8: the repacked weights and the activation quantizer the drivers share.
#pragma once

#include "llm/transformer/kernels.h"
#include "x86/leaf_kernels.h"

namespace llm::simd {

// The packed matrix a prepare_packed<P> wrote in front of its groups.
const PackedMatrix& packed_matrix(const PreparedWeight& w);
template <PackedType P>
bool prepare_packed(const Tensor& w, PreparedWeight& out);

// Quantizes rows [split of n for thread t of nt] of x into ctx.shared and describes the whole
// layout in `out` (t < 0: only the layout). False when the scratch is too small. `vector`:
// with the AVX-512 quantizer (the same codes), else chapter 6's scalar one.
bool quantize_rows(const ExecContext& ctx, const float* x, int n, int64_t cols, int t, int nt,
                   QuantizedRows& out, bool vector);

}  // namespace llm::simd
