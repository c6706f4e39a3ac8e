#include "args.h"

#include <algorithm>
#include <cstdio>

#include "llm/config/thread_pool.h"
#include "llm/transformer/backend.h"
#include "llm/transformer/sampler.h"

#include <cerrno>
#include <cstdlib>

namespace llm::cli {

Args::Args(int argc, char** argv) : argv_(argv + 1, argv + argc) {}

namespace {
// "-m|--model" -> {"-m", "--model"}: the names one option answers to.
std::vector<std::string> names_of(const std::string& flag) {
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t bar; (bar = flag.find('|', at)) != std::string::npos; at = bar + 1)
    out.push_back(flag.substr(at, bar - at));
  out.push_back(flag.substr(at));
  return out;
}
// How an error names the option: its long name, with the short one beside it.
std::string display(const std::string& flag) {
  const auto names = names_of(flag);
  std::string s = names.back();
  if (names.size() > 1) s += " (" + names.front() + ")";
  return s;
}
}  // namespace

std::optional<std::string> Args::value(const std::string& flag) {
  const auto names = names_of(flag);
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (std::find(names.begin(), names.end(), argv_[i]) == names.end()) continue;
    if (i + 1 >= argv_.size()) throw Error("option " + display(flag) + " needs a value");
    used_.insert(i);
    used_.insert(i + 1);
    return argv_[i + 1];
  }
  return std::nullopt;
}

std::string Args::required(const std::string& flag) {
  auto v = value(flag);
  if (!v) throw Error("option " + display(flag) + " is required");
  return *v;
}

bool Args::has(const std::string& flag) {
  const auto names = names_of(flag);
  for (size_t i = 0; i < argv_.size(); ++i)
    if (std::find(names.begin(), names.end(), argv_[i]) != names.end()) {
      used_.insert(i);
      return true;
    }
  return false;
}

namespace {
template <class T, class F>
T parse_number(const std::string& flag, const std::string& s, F convert) {
  errno = 0;
  char* end = nullptr;
  const auto v = convert(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    throw Error("option " + display(flag) + " expects a number, got '" + s + "'");
  return static_cast<T>(v);
}
}  // namespace

int Args::get_int(const std::string& flag, int fallback) {
  auto v = value(flag);
  if (!v) return fallback;
  const long long x = parse_number<long long>(
      flag, *v, [](const char* s, char** e) { return std::strtoll(s, e, 10); });
  if (x < INT32_MIN || x > INT32_MAX) throw Error("option " + display(flag) + " is out of range: " + *v);
  return static_cast<int>(x);
}

int Args::get_threads() {
  return get_int("--threads", get_int("-t", ThreadPool::physical_cores()));
}

uint64_t Args::get_u64(const std::string& flag, uint64_t fallback) {
  auto v = value(flag);
  if (!v) return fallback;
  if (!v->empty() && (*v)[0] == '-') throw Error("option " + display(flag) + " must not be negative");
  return parse_number<uint64_t>(flag, *v,
                                [](const char* s, char** e) { return std::strtoull(s, e, 10); });
}

float Args::get_float(const std::string& flag, float fallback) {
  auto v = value(flag);
  if (!v) return fallback;
  return parse_number<float>(flag, *v, [](const char* s, char** e) { return std::strtof(s, e); });
}

void Args::finish() const {
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_.count(i)) throw Error("unknown argument '" + argv_[i] + "'");
}

}  // namespace llm::cli

namespace llm::cli {

void print_kernel_stats(const Backend& backend, FILE* out) {
  std::fprintf(out, "%-16s %-14s %12s %10s %10s\n", "op", "variant", "calls", "fallbacks",
               "seconds");
  for (const OpStats& s : backend.stats())
    std::fprintf(out, "%-16s %-14s %12llu %10llu %10.4f\n", s.op.c_str(), s.variant.c_str(),
                 static_cast<unsigned long long>(s.calls),
                 static_cast<unsigned long long>(s.fallbacks), s.seconds);
}

void check_sampling(const SamplerConfig& sc) {
  if (sc.temperature < 0 || sc.top_p <= 0 || sc.top_p > 1 || sc.min_p < 0 || sc.min_p > 1 ||
      sc.repeat_penalty <= 0 || sc.top_k < 0)
    throw Error(
        "sampling parameters out of range (temperature >= 0, 0 < top-p <= 1, 0 <= min-p <= 1, "
        "repeat-penalty > 0, top-k >= 0)");
}

}  // namespace llm::cli
