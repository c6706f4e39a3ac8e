/* make_golden_x86.c — what llama.cpp's x86 (AVX2) build computes at run time for the 32-value
 * block types: activations quantized by quantize_row_q8_0 / quantize_row_q8_1 (x86 versions:
 * 127/amax, round half to even) and the AVX2 dot products (eight lanes, fused multiply-adds).
 * Its output is appended to llama_cpp_quants.txt (after make_golden's):
 *   xact <type> <case> <fnv64 of the quantized activation bytes>
 *   xdot <type> <case> <f32 bits of each row's dot, hex>
 * Build (same llama.cpp tree as make_golden.c), with the flags llama.cpp's native build uses here:
 *   cc -O3 -std=gnu11 -DNDEBUG -mavx2 -mfma -mf16c -I$G/include -I$G/src -I$G/src/ggml-cpu \
 *      make_golden_x86.c $G/src/ggml-quants.c $G/src/ggml-cpu/quants.c \
 *      $G/src/ggml-cpu/arch/x86/quants.c -lm -o make_golden_x86 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-cpu/quants.h"
#include "ggml-impl.h"
#include "ggml-quants.h"

#include "../golden_inputs.h"

float ggml_table_f32_f16[1 << 16];
float ggml_table_f32_e8m0_half[1 << 8]; /* referenced by dot products not used here */
float ggml_table_f32_ue4m3[1 << 8];
void ggml_abort(const char* file, int line, const char* fmt, ...) {
  (void)fmt;
  fprintf(stderr, "ggml_abort at %s:%d\n", file, line);
  abort();
}
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void)type, (void)ne; abort(); }
size_t ggml_type_size(enum ggml_type type) { (void)type; abort(); }
const char* ggml_type_name(enum ggml_type type) { (void)type; return "?"; }

typedef void (*quant_fn)(const float*, void*, int64_t);
typedef void (*dot_fn)(int, float*, size_t, const void*, size_t, const void*, size_t, int);
static const struct {
  const char* name;
  int bytes, act_bytes;
  quant_fn quant, act;
  dot_fn dot;
} types[] = {
    {"q8_0", 34, 34, (quant_fn)quantize_row_q8_0_ref, (quant_fn)quantize_row_q8_0, ggml_vec_dot_q8_0_q8_0},
    {"q4_0", 18, 34, (quant_fn)quantize_row_q4_0_ref, (quant_fn)quantize_row_q8_0, ggml_vec_dot_q4_0_q8_0},
    {"q4_1", 20, 36, (quant_fn)quantize_row_q4_1_ref, (quant_fn)quantize_row_q8_1, ggml_vec_dot_q4_1_q8_1},
};

int main(void) {
  for (int i = 0; i < (1 << 16); ++i) ggml_table_f32_f16[i] = GGML_COMPUTE_FP16_TO_FP32((uint16_t)i);
  float* x = malloc(sizeof(float) * GOLDEN_N);
  float* xa = malloc(sizeof(float) * GOLDEN_N);
  unsigned char* q = malloc(GOLDEN_N * 2);
  unsigned char* qa = malloc(GOLDEN_N * 2);
  golden_fill(1, 2, xa, GOLDEN_N);
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    golden_fill(c, 1, x, GOLDEN_N);
    for (int t = 0; t < 3; ++t) {
      memset(q, 0, GOLDEN_N * 2);
      memset(qa, 0, GOLDEN_N * 2);
      types[t].quant(x, q, GOLDEN_N);
      types[t].act(xa, qa, GOLDEN_N);
      /* the activation quantizer on the weight inputs too: more edge cases */
      unsigned char* qx = malloc(GOLDEN_N * 2);
      types[t].act(x, qx, GOLDEN_N);
      printf("xact %s %s %016llx\n", types[t].name, golden_case_names[c],
             (unsigned long long)golden_hash(qx, (size_t)GOLDEN_N / 32 * types[t].act_bytes));
      free(qx);
      printf("xdot %s %s", types[t].name, golden_case_names[c]);
      for (int r = 0; r < GOLDEN_N / GOLDEN_ROW; ++r) {
        float s;
        types[t].dot(GOLDEN_ROW, &s, 0, q + (size_t)r * GOLDEN_ROW / 32 * types[t].bytes, 0,
                     qa + (size_t)r * GOLDEN_ROW / 32 * types[t].act_bytes, 0, 1);
        unsigned bits;
        memcpy(&bits, &s, 4);
        printf(" %08x", bits);
      }
      printf("\n");
    }
  }
  return 0;
}
