/* Seeded test inputs shared by the tests and golden/make_golden.c (which runs llama.cpp's own
 * quantizers on them). Both are built from integer arithmetic and exact float operations, so a C
 * compiler and a C++ compiler produce the very same floats: the golden bytes llama.cpp wrote can
 * be compared with ours byte for byte. Plain C on purpose. */
#ifndef LLMCPP_TESTS_CH06_GOLDEN_INPUTS_H
#define LLMCPP_TESTS_CH06_GOLDEN_INPUTS_H

#include <math.h>
#include <stdint.h>

#define GOLDEN_CASES 5
#define GOLDEN_N 65536      /* values per case (256 super-blocks) */
#define GOLDEN_ROW 4096     /* row length of the dot-product cases (16 rows per case) */
#define GOLDEN_BYTES_N 1024 /* values of the "edge" case whose bytes are spelled out */

static const char* const golden_case_names[GOLDEN_CASES] = {"uniform", "gauss", "scaled", "edge",
                                                            "weights"};

/* splitmix64 */
static inline uint64_t golden_next(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [-1, 1) on a grid of 2^-23: every step is exact in float. */
static inline float golden_uniform(uint64_t* s) {
  return (float)(golden_next(s) >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
}

/* Fills x[0..n) with case c:
 *   uniform  U(-1, 1)
 *   gauss    (u1+u2+u3+u4)/2, a bell shape
 *   scaled   U(-1, 1) times 2^-6 .. 2^6, changing every 32 values (tests each block's scale)
 *   edge     small values with outliers every 97, zero sub-blocks of 16, constant blocks of 32
 *            (negative and positive), all-positive blocks, blocks of exact rounding ties and
 *            an all-zero super-block in five
 *   weights  the bell shape at the scale of LLM weights (std ~0.012) */
static inline void golden_fill(int c, uint64_t seed, float* x, int64_t n) {
  uint64_t s = seed;
  for (int64_t p = 0; p < n; ++p) {
    const float u1 = golden_uniform(&s), u2 = golden_uniform(&s);
    const float u3 = golden_uniform(&s), u4 = golden_uniform(&s);
    float v = u1;
    if (c == 1) v = (u1 + u2 + u3 + u4) * 0.5f;
    if (c == 2) v = u1 * ldexpf(1.0f, (int)(((p / 32) * 7) % 13) - 6);
    if (c == 3) {
      v = u1 * 0.01f;
      if (p % 97 == 5) v = u2 * 8.0f;
      if ((p / 32) % 19 == 4) v = fabsf(v) + 0.5f;
      /* exact ties: d = 15.875/127 = 1/8, so x·(1/d) = k + 0.5 (roundf and round-to-even differ) */
      if ((p / 32) % 23 == 11) v = p % 32 == 0 ? 15.875f : (floorf(u3 * 127) + 0.5f) * 0.125f;
      if ((p / 16) % 11 == 3) v = 0.0f;
      if ((p / 32) % 13 == 7) v = -0.25f;
      if ((p / 32) % 17 == 9) v = 0.75f;
      if ((p / 256) % 5 == 2) v = 0.0f;
    }
    if (c == 4) v = (u1 + u2 + u3 + u4) * 0.01f;
    x[p] = v;
  }
}

/* FNV-1a, 64 bits */
static inline uint64_t golden_hash(const void* data, uint64_t n) {
  const unsigned char* b = (const unsigned char*)data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

#endif
