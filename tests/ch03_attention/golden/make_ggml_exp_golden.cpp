/* make_ggml_exp_golden.cpp — what llama.cpp's x86 (AVX2) build computes for exp and SwiGLU.
 *
 * Prints the {input bits, output bits} table of tests/ch03_attention/exp_approx_test.cpp (ggml's
 * vector exp, ggml_v_expf) and the row of tests/ch04_transformer/kernels_test.cpp's SwiGLU
 * test (ggml_vec_swiglu_f32 on 13 values: eight through the vector path, five through its
 * scalar expf tail, all chosen where the two ways of computing SiLU round differently).
 * Needs llama.cpp's source (llama-cpp-python 0.3.36's sdist vendors commit 0c1e570 under
 * vendor/llama.cpp) and its ggml-cpu compiled for AVX2; with G=<llama.cpp>/ggml and B a build
 * of it made with -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON:
 *   g++ -O2 -mavx2 -mfma -mf16c -std=c++17 -I$G/src/ggml-cpu -I$G/src -I$G/include \
 *       make_ggml_exp_golden.cpp $B/ggml/src/CMakeFiles/ggml-cpu.dir/ggml-cpu/vec.cpp.o \
 *       -L$B/bin -lggml-cpu -lggml-base -fopenmp -o make_ggml_exp_golden */
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "vec.h"

static uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static float lane0(__m256 v) {
  float out[8];
  _mm256_storeu_ps(out, v);
  return out[0];
}

int main() {
  const float xs[] = {0.0f,    -0.0f,   1.0f,  -1.0f,  0.5f,    -0.693147182f, 2.302585f, -5.25f,
                      10.0f,   -17.3f,  42.0f, -42.0f, 88.5f,   -87.0f,        -88.9f,    -95.0f,
                      -100.0f, -104.0f, 89.0f, -1e-7f, 3.3e-3f, -0.12345f,     -INFINITY, INFINITY};
  std::printf("// exp_approx_test.cpp: kGgml\n");
  for (float x : xs) {
    const float e = lane0(ggml_v_expf(_mm256_set1_ps(x)));
    std::printf("{0x%08xu, 0x%08xu},  // exp(%.9g) = %.9g (expf %.9g)\n", bits(x), bits(e), x, e,
                std::exp(x));
  }
  // Inputs where x / (1 + ggml_v_expf(-x)) and x / (1 + expf(-x)) differ.
  float x[13], g[13], y[13];
  int n = 0;
  for (float v = -8.0f; n < 13 && v < 8.0f; v += 0.0137f) {
    const float vec = lane0(ggml_v_silu(_mm256_set1_ps(v)));
    const float sca = v / (1.0f + std::exp(-v));
    if (vec != sca) {
      x[n] = v;
      g[n] = 0.5f + 0.125f * static_cast<float>(n);
      ++n;
    }
  }
  ggml_vec_swiglu_f32(13, y, x, g);
  std::printf("// kernels_test.cpp: SwiGLU x, up, out\n");
  for (const float* row : {x, g, y}) {
    for (int i = 0; i < 13; ++i) std::printf("0x%08xu, ", bits(row[i]));
    std::printf("\n");
  }
}
