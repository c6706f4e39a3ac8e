// CpuFeatures — what this CPU can run, found once at start-up.
//
// One binary runs on any x86-64: kernels for AVX2 and for AVX-512 are compiled in their own
// files with their own flags, and registered with an availability check built from this
// struct, so the Registry picks the best one the CPU (and the OS, which must save the wide
// registers) supports. LLMCPP_ISA=scalar|avx2|avx512 caps the choice, to test or compare the
// lower paths on a machine that has the higher ones.
#pragma once

#include <string>

namespace llm {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
  bool avx_vnni = false;                    // VNNI on 256-bit registers (no AVX-512)
  bool amx_tile = false, amx_int8 = false;  // reported only; no AMX kernels yet
  bool neon = false;                        // ARM
  std::string brand;                        // "AMD EPYC 9R14 ..."

  // The kernel levels of chapter 8 (each implies the ones below).
  bool has_avx2() const { return avx2 && fma && f16c; }
  bool has_avx512() const { return has_avx2() && avx512f && avx512bw && avx512vl && avx512vnni; }
  std::string summary() const;  // "avx2 fma f16c avx512f ... (capped by LLMCPP_ISA=avx2)"
};

// Detected once (thread-safe), with the LLMCPP_ISA cap applied.
const CpuFeatures& cpu_features();

}  // namespace llm
