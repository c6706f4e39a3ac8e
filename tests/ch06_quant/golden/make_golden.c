/* make_golden.c — writes llama_cpp_quants.txt: what llama.cpp's own reference code produces on
 * the inputs of ../golden_inputs.h, so quant_llama_cpp_test can check chapter 6 byte for byte.
 *
 * Not built by CMake (the engine never depends on llama.cpp). To regenerate, with the llama.cpp
 * tree vendored in llama-cpp-python 0.3.36 (llama.cpp 0c1e570):
 *   pip download --no-binary :all: --no-deps llama-cpp-python==0.3.36
 *   tar xzf llama_cpp_python-0.3.36.tar.gz
 *   G=llama_cpp_python-0.3.36/vendor/llama.cpp/ggml
 *   cc -O3 -std=gnu11 -DNDEBUG -DGGML_CPU_GENERIC -I$G/include -I$G/src -I$G/src/ggml-cpu \
 *      make_golden.c $G/src/ggml-quants.c $G/src/ggml-cpu/quants.c -lm -o make_golden
 *   ./make_golden > llama_cpp_quants.txt
 * No -march flag: like llama.cpp's ggml-base, where llama-quantize's quantizers live, so no fused
 * multiply-add. GGML_CPU_GENERIC selects ggml's portable dot products (ggml_vec_dot_*_generic),
 * which chapter 6's vec_dot functions mirror.
 *
 * Output lines:
 *   input   <case> <fnv64 of the f32 inputs>
 *   quant   <type> <case> <fnv64 of the quantized bytes>          (all GOLDEN_N values)
 *   dequant <type> <case> <fnv64 of the dequantized f32 bits>     (of llama.cpp's bytes)
 *   dot     <type> <case> <f32 bits of each row's dot, hex>       (GOLDEN_N / GOLDEN_ROW rows)
 *   bytes   <type> edge <hex of the quantized bytes of the first GOLDEN_BYTES_N values> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-cpu/quants.h"
#include "ggml-impl.h"
#include "ggml-quants.h"

#include "../golden_inputs.h"

float ggml_table_f32_f16[1 << 16]; /* ggml-cpu's fp16 table, normally filled by ggml_cpu_init */

/* The rest of ggml-base, reduced to what the two files reference; never called here. */
void ggml_abort(const char* file, int line, const char* fmt, ...) {
  (void)fmt;
  fprintf(stderr, "ggml_abort at %s:%d\n", file, line);
  abort();
}
size_t ggml_row_size(enum ggml_type type, int64_t ne) {
  (void)type, (void)ne;
  abort();
}
size_t ggml_type_size(enum ggml_type type) {
  (void)type;
  abort();
}
const char* ggml_type_name(enum ggml_type type) {
  (void)type;
  return "?";
}

typedef void (*quant_fn)(const float*, void*, int64_t);
typedef void (*dequant_fn)(const void*, float*, int64_t);
typedef void (*dot_fn)(int, float*, size_t, const void*, size_t, const void*, size_t, int);

struct type {
  const char* name;
  int block, bytes;
  quant_fn quant;
  dequant_fn dequant; /* NULL: activation type */
  int act;            /* index of the activation type, -1 for activation types */
  dot_fn dot;
};

static const struct type types[] = {
    {"q8_0", 32, 34, (quant_fn)quantize_row_q8_0_ref, (dequant_fn)dequantize_row_q8_0, 0,
     ggml_vec_dot_q8_0_q8_0},
    {"q4_0", 32, 18, (quant_fn)quantize_row_q4_0_ref, (dequant_fn)dequantize_row_q4_0, 0,
     ggml_vec_dot_q4_0_q8_0},
    {"q4_1", 32, 20, (quant_fn)quantize_row_q4_1_ref, (dequant_fn)dequantize_row_q4_1, 3,
     ggml_vec_dot_q4_1_q8_1},
    {"q8_1", 32, 36, (quant_fn)quantize_row_q8_1_ref, NULL, -1, NULL},
    {"q4_k", 256, 144, (quant_fn)quantize_row_q4_K_ref, (dequant_fn)dequantize_row_q4_K, 6,
     ggml_vec_dot_q4_K_q8_K},
    {"q6_k", 256, 210, (quant_fn)quantize_row_q6_K_ref, (dequant_fn)dequantize_row_q6_K, 6,
     ggml_vec_dot_q6_K_q8_K},
    {"q8_k", 256, 292, (quant_fn)quantize_row_q8_K_ref, NULL, -1, NULL},
};
enum { NTYPES = sizeof types / sizeof types[0] };

static size_t nbytes(const struct type* t, int64_t n) {
  return (size_t)(n / t->block * t->bytes);
}

int main(void) {
  for (int i = 0; i < (1 << 16); ++i)
    ggml_table_f32_f16[i] = GGML_COMPUTE_FP16_TO_FP32((uint16_t)i);
  float* x = malloc(sizeof(float) * GOLDEN_N);
  float* xa = malloc(sizeof(float) * GOLDEN_N);
  float* deq = malloc(sizeof(float) * GOLDEN_N);
  unsigned char* q = malloc(GOLDEN_N * 2);
  unsigned char* qa = malloc(GOLDEN_N * 2);
  printf(
      "# llama.cpp 0c1e570 (llama-cpp-python 0.3.36) reference quantizers and generic dot "
      "products on tests/ch06_quant/golden_inputs.h; written by make_golden.c\n");
  golden_fill(1, 2, xa, GOLDEN_N); /* activations of every dot case: the bell shape, seed 2 */
  for (int c = 0; c < GOLDEN_CASES; ++c) {
    golden_fill(c, 1, x, GOLDEN_N);
    printf("input %s %016llx\n", golden_case_names[c],
           (unsigned long long)golden_hash(x, sizeof(float) * GOLDEN_N));
    for (int t = 0; t < NTYPES; ++t) {
      const struct type* ty = &types[t];
      memset(q, 0, GOLDEN_N * 2); /* ggml leaves q8_K's bsums unwritten for zero blocks */
      ty->quant(x, q, GOLDEN_N);
      printf("quant %s %s %016llx\n", ty->name, golden_case_names[c],
             (unsigned long long)golden_hash(q, nbytes(ty, GOLDEN_N)));
      if (!ty->dequant) continue;
      ty->dequant(q, deq, GOLDEN_N);
      printf("dequant %s %s %016llx\n", ty->name, golden_case_names[c],
             (unsigned long long)golden_hash(deq, sizeof(float) * GOLDEN_N));
      const struct type* at = &types[ty->act];
      memset(qa, 0, GOLDEN_N * 2);
      at->quant(xa, qa, GOLDEN_N);
      printf("dot %s %s", ty->name, golden_case_names[c]);
      for (int r = 0; r < GOLDEN_N / GOLDEN_ROW; ++r) {
        float s;
        ty->dot(GOLDEN_ROW, &s, 0, q + nbytes(ty, (int64_t)r * GOLDEN_ROW), 0,
                qa + nbytes(at, (int64_t)r * GOLDEN_ROW), 0, 1);
        uint32_t bits;
        memcpy(&bits, &s, 4);
        printf(" %08x", bits);
      }
      printf("\n");
    }
  }
  golden_fill(3, 1, x, GOLDEN_BYTES_N);
  for (int t = 0; t < NTYPES; ++t) {
    const struct type* ty = &types[t];
    memset(q, 0, GOLDEN_N * 2);
    ty->quant(x, q, GOLDEN_BYTES_N);
    printf("bytes %s edge ", ty->name);
    for (size_t i = 0; i < nbytes(ty, GOLDEN_BYTES_N); ++i) printf("%02x", q[i]);
    printf("\n");
  }
  return 0;
}
