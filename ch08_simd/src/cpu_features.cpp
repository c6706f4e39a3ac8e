#include "llm/simd/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace llm {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's CPU model checks both CPUID and that the OS saves the registers (XGETBV).
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  f.avx_vnni = __builtin_cpu_supports("avxvnni");
  f.amx_tile = __builtin_cpu_supports("amx-tile");
  f.amx_int8 = __builtin_cpu_supports("amx-int8");
#elif defined(__aarch64__)
  f.neon = true;
#endif
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      f.brand = line.substr(line.find(':') + 2);
      break;
    }
  // The cap: pretend the higher levels are absent.
  if (const char* cap = std::getenv("LLMCPP_ISA")) {
    if (!std::strcmp(cap, "scalar")) f.avx2 = false;
    if (!std::strcmp(cap, "scalar") || !std::strcmp(cap, "avx2")) {
      f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = f.avx512bf16 = false;
      f.amx_tile = f.amx_int8 = false;
    }
  }
  return f;
}

}  // namespace

std::string CpuFeatures::summary() const {
  std::string s;
  const auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx_vnni, "avx-vnni");
  add(amx_tile, "amx-tile");
  add(amx_int8, "amx-int8");
  add(neon, "neon");
  if (s.empty()) s = "(no SIMD extension used)";
  if (const char* cap = std::getenv("LLMCPP_ISA")) {
    s += " (capped by LLMCPP_ISA=";
    s += cap;
    s += ')';
  }
  return s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace llm
