// Registry — every kernel variant and every optimization-ladder step, by name.
//
// A kernel is registered under an op name ("matmul/q4_1", "rmsnorm", "to_f32/f16") and a
// variant name ("ref", "v3_avx2"); its full name is "op/variant". Each chapter exports
// `register_<chapter>(Registry&)`, which first calls the previous chapter's and then adds its
// own entries — an explicit chain, because static constructors in a static library are
// dropped by the linker. One registry feeds the op-conformance tests (every variant against
// "ref"), the benchmarks (every variant side by side) and the model's kernel table (the best
// available variant of each op, chosen once at construction).
#pragma once

#include <any>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "llm/config/error.h"

namespace llm {

struct KernelEntry {
  std::string op;       // "matmul/q4_1"
  std::string variant;  // "ref" is the readable scalar reference every other variant must match
  int rank = 0;         // higher is preferred when available
  std::function<bool()> available;  // CPU feature check; empty = always available
  std::any fn;                      // a function pointer of the op's signature
  std::string doc;                  // one line for benchmark tables and `llm info --kernels`

  std::string name() const { return op + "/" + variant; }
  bool usable() const { return !available || available(); }
};

class Registry {
 public:
  // Adds a kernel; replacing an existing op/variant is an error (a chain registered twice).
  void add(KernelEntry e);

  // All variants of `op`, in registration order (the reference first).
  std::vector<const KernelEntry*> variants(std::string_view op) const;
  const KernelEntry* find(std::string_view op, std::string_view variant) const;
  // The highest-ranked usable variant, or nullptr when the op has none.
  const KernelEntry* best(std::string_view op) const;
  std::vector<std::string> ops() const;
  size_t size() const { return entries_.size(); }

  // The function of the best variant of `op`, cast to Fn; throws llm::Error if absent.
  template <class Fn>
  Fn get(std::string_view op) const {
    const KernelEntry* e = best(op);
    if (!e) throw Error("no kernel registered for op '" + std::string(op) + "'");
    return cast<Fn>(*e);
  }
  template <class Fn>
  static Fn cast(const KernelEntry& e) {
    const Fn* f = std::any_cast<Fn>(&e.fn);
    if (!f) throw Error("kernel '" + e.name() + "' has another signature than requested");
    return *f;
  }

 private:
  std::vector<KernelEntry> entries_;
};

// Row converters to f32 for the scalar types: "to_f32/<dtype>" ops. Chapter 6 adds the
// quantized types' converters under the same op names.
using ToF32Fn = void (*)(const void* src, float* dst, int64_t n);
void register_config(Registry& r);

}  // namespace llm
