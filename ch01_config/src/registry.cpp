#include "llm/config/registry.h"

#include <set>

#include "llm/config/dtype.h"
#include "llm/config/tensor.h"

namespace llm {

void Registry::add(KernelEntry e) {
  if (find(e.op, e.variant)) throw Error("kernel '" + e.name() + "' is registered twice");
  entries_.push_back(std::move(e));
}

std::vector<const KernelEntry*> Registry::variants(std::string_view op) const {
  std::vector<const KernelEntry*> out;
  for (const KernelEntry& e : entries_)
    if (e.op == op) out.push_back(&e);
  return out;
}

const KernelEntry* Registry::find(std::string_view op, std::string_view variant) const {
  for (const KernelEntry& e : entries_)
    if (e.op == op && e.variant == variant) return &e;
  return nullptr;
}

const KernelEntry* Registry::best(std::string_view op) const {
  const KernelEntry* best = nullptr;
  for (const KernelEntry& e : entries_)
    if (e.op == op && e.usable() && (!best || e.rank > best->rank)) best = &e;
  return best;
}

std::vector<std::string> Registry::ops() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const KernelEntry& e : entries_)
    if (seen.insert(e.op).second) out.push_back(e.op);
  return out;
}

namespace {
template <DType T>
void to_f32(const void* src, float* dst, int64_t n) {
  scalar_to_f32(T, src, dst, n);
}
}  // namespace

void register_config(Registry& r) {
  r.add({"to_f32/f32", "ref", 0, {}, ToF32Fn{&to_f32<DType::F32>}, "copy"});
  r.add({"to_f32/f16", "ref", 0, {}, ToF32Fn{&to_f32<DType::F16>}, "IEEE half to float"});
  r.add({"to_f32/bf16", "ref", 0, {}, ToF32Fn{&to_f32<DType::BF16>}, "bfloat16 to float"});
}

}  // namespace llm
