// register_quant: chapter 4's kernels, then the quantized codecs, dot products and matmuls.
#include <iterator>
#include <string>

#include "llm/config/error.h"

#include "llm/kvcache/register.h"
#include "llm/quant/quant.h"
#include "llm/quant/quant_type.h"
#include "llm/transformer/kernels.h"

namespace llm {

namespace {
// The reference matmuls lifted to whole-batch ops, in the order of quant_types().
constexpr MatmulKernel kRefMatmuls[] = {
    {&matmul_each<&matmul_q8_0_ref>}, {&matmul_each<&matmul_q4_0_ref>},
    {&matmul_each<&matmul_q4_1_ref>}, {&matmul_each<&matmul_q4_K_ref>},
    {&matmul_each<&matmul_q6_K_ref>},
};
constexpr MatmulRowsFn kRefRows[] = {&matmul_q8_0_ref, &matmul_q4_0_ref, &matmul_q4_1_ref,
                                     &matmul_q4_K_ref, &matmul_q6_K_ref};
}  // namespace

void register_quant(Registry& r) {
  register_kvcache(r);

  size_t i = 0;
  for (const QuantType& t : quant_types()) {
    if (i >= std::size(kRefRows) || kRefRows[i] != t.matmul)
      throw Error("register_quant: kRefMatmuls is out of step with quant_types()");
    const MatmulKernel ref_matmul = kRefMatmuls[i++];
    const std::string w(dtype_name(t.weight));
    const std::string x(dtype_name(t.activation));
    r.add({"to_f32/" + w, "ref", 0, {}, ToF32Fn{t.dequantize}, w + " blocks to float"});
    r.add({"from_f32/" + w,
           "ref",
           0,
           {},
           FromF32Fn{t.quantize},
           "float to " + w + " blocks (llama.cpp's reference quantizer)"});
    r.add({"vec_dot/" + w + "_" + x,
           "ref",
           0,
           {},
           VecDotFn{t.vec_dot},
           w + " row · " + x + " row, integer sums per block"});
    r.add({"matmul/" + w,
           "ref",
           0,
           {},
           ref_matmul,
           "scalar: activations to " + x + ", then vec_dot per weight row"});
  }
  // Activation-only types: quantizers for chapter 8's kernels and benchmarks.
  r.add({"from_f32/q8_1",
         "ref",
         0,
         {},
         FromF32Fn{&quantize_row_q8_1_ref},
         "float to q8_1 activation blocks"});
  r.add({"from_f32/q8_k",
         "ref",
         0,
         {},
         FromF32Fn{&quantize_row_q8_K_ref},
         "float to q8_k activation super-blocks"});
}

}  // namespace llm
