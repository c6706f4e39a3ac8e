#include "args.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "llm/config/thread_pool.h"
#include "llm/parallel/tensor_parallel.h"
#include "llm/transformer/backend.h"
#include "llm/transformer/sampler.h"

namespace llm::cli {

namespace {

// "-m|--model" -> {"-m", "--model"}: the names one option answers to.
std::vector<std::string_view> names_of(std::string_view names) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t bar = names.find('|', at);
    out.push_back(names.substr(at, bar == std::string_view::npos ? bar : bar - at));
    if (bar == std::string_view::npos) return out;
    at = bar + 1;
  }
}

bool answers_to(const Option& o, std::string_view name) {
  for (std::string_view n : names_of(o.names))
    if (n == name) return true;
  return false;
}

bool is_switch(const Option& o) {
  return *o.value == '\0';
}

// The table itself must make sense: names that start with a dash, each used once, and none that
// shadows -h/--help. Checked on every run: a broken table fails its first test, not a user.
void check_table(const Command& cmd) {
  for (size_t i = 0; i < cmd.options.size(); ++i)
    for (std::string_view n : names_of(cmd.options[i].names)) {
      if (n.size() < 2 || n[0] != '-' || n == "-h" || n == "--help")
        throw std::logic_error("llm " + std::string(cmd.name) + ": bad option name '" +
                               std::string(n) + "'");
      for (size_t j = i + 1; j < cmd.options.size(); ++j)
        if (answers_to(cmd.options[j], n))
          throw std::logic_error("llm " + std::string(cmd.name) + ": option '" + std::string(n) +
                                 "' is in the table twice");
    }
}

}  // namespace

Args::Args(const Command& command, int argc, char** argv)
    : cmd_(command), given_(command.options.size()), read_(command.options.size()) {
  check_table(cmd_);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      return;
    }
    std::optional<std::string> inline_value;  // --name=value
    if (arg.starts_with("--") && arg.find('=') != std::string_view::npos) {
      inline_value = std::string(arg.substr(arg.find('=') + 1));
      arg = arg.substr(0, arg.find('='));
    }
    size_t k = 0;
    while (k < cmd_.options.size() && !answers_to(cmd_.options[k], arg)) ++k;
    if (k == cmd_.options.size())
      throw Error("unknown argument '" + std::string(argv[i]) + "' (see llm " + cmd_.name +
                  " --help)");
    if (is_switch(cmd_.options[k])) {
      if (inline_value) throw Error("option " + display(k) + " takes no value");
      given_[k] = "";
    } else if (inline_value) {
      given_[k] = *inline_value;
    } else {
      // The next argument is the value whatever it looks like: `--temp -1` is a (bad) number and
      // `-p "-x"` a prompt, not options.
      if (i + 1 >= argc) throw Error("option " + display(k) + " needs a value");
      given_[k] = argv[++i];
    }
  }
}

size_t Args::find(std::string_view name, bool wants_value) {
  for (size_t k = 0; k < cmd_.options.size(); ++k) {
    if (!answers_to(cmd_.options[k], name)) continue;
    if (is_switch(cmd_.options[k]) == wants_value)
      throw std::logic_error(
          "llm " + std::string(cmd_.name) + ": option '" + std::string(name) +
          (wants_value ? "' is a switch, read as a value" : "' takes a value, read as a switch"));
    read_[k] = true;
    return k;
  }
  throw std::logic_error("llm " + std::string(cmd_.name) + ": option '" + std::string(name) +
                         "' is not in the command's table");
}

// How an error names an option: its first long name, with the short one beside it.
std::string Args::display(size_t k) const {
  const auto names = names_of(cmd_.options[k].names);
  std::string_view main = names.front();
  for (std::string_view n : names)
    if (n.starts_with("--")) {
      main = n;
      break;
    }
  std::string s(main);
  if (names.front() != main) s += " (" + std::string(names.front()) + ")";
  return s;
}

std::optional<std::string> Args::value(std::string_view name) {
  return given_[find(name, true)];
}

std::string Args::required(std::string_view name) {
  const size_t k = find(name, true);
  if (!given_[k] && !missing_) missing_ = k;
  return given_[k].value_or("");
}

std::string Args::get(std::string_view name) {
  const size_t k = find(name, true);
  if (given_[k]) return *given_[k];
  if (*cmd_.options[k].dflt == '\0')
    throw std::logic_error("llm " + std::string(cmd_.name) + ": option '" + std::string(name) +
                           "' has no default in the table");
  return cmd_.options[k].dflt;
}

bool Args::has(std::string_view name) {
  return given_[find(name, false)].has_value();
}

namespace {
// All of `s` as a number, or nothing.
template <class T, class Convert>
std::optional<T> parse_number(const std::string& s, Convert convert) {
  errno = 0;
  char* end = nullptr;
  const auto v = convert(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return static_cast<T>(v);
}
const auto to_ll = [](const char* p, char** e) { return std::strtoll(p, e, 10); };
const auto to_ull = [](const char* p, char** e) { return std::strtoull(p, e, 10); };
const auto to_f = [](const char* p, char** e) { return std::strtof(p, e); };
}  // namespace

std::optional<int> Args::opt_int(std::string_view name) {
  const size_t k = find(name, true);
  if (!given_[k]) return std::nullopt;
  const auto x = parse_number<long long>(*given_[k], to_ll);
  if (!x) throw Error("option " + display(k) + " expects a number, got '" + *given_[k] + "'");
  if (*x < INT32_MIN || *x > INT32_MAX)
    throw Error("option " + display(k) + " is out of range: " + *given_[k]);
  return static_cast<int>(*x);
}

std::optional<uint64_t> Args::opt_u64(std::string_view name) {
  const size_t k = find(name, true);
  if (!given_[k]) return std::nullopt;
  const std::string& s = *given_[k];
  if (!s.empty() && s[0] == '-') throw Error("option " + display(k) + " must not be negative");
  const auto x = parse_number<uint64_t>(s, to_ull);
  if (!x) throw Error("option " + display(k) + " expects a number, got '" + s + "'");
  return x;
}

int Args::get_int(std::string_view name) {
  if (auto v = opt_int(name)) return *v;
  const auto d = parse_number<int>(get(name), to_ll);  // the table's default
  if (!d) throw std::logic_error("option '" + std::string(name) + "': its default is no number");
  return *d;
}

float Args::get_float(std::string_view name) {
  const size_t k = find(name, true);
  const auto v = parse_number<float>(get(name), to_f);  // given, or the table's default
  if (v) return *v;
  if (given_[k])
    throw Error("option " + display(k) + " expects a number, got '" + *given_[k] + "'");
  throw std::logic_error("option '" + std::string(name) + "': its default is no number");
}

int Args::get_threads() {
  return opt_int("--threads").value_or(ThreadPool::physical_cores());
}

void Args::finish() const {
  if (missing_) throw Error("option " + display(*missing_) + " is required");
  for (size_t k = 0; k < given_.size(); ++k)
    if (given_[k] && !read_[k])
      throw Error("option " + display(k) + " does not apply here (see llm " + cmd_.name +
                  " --help)");
}

SamplerConfig read_sampling(Args& args, bool* seed_given) {
  SamplerConfig sc;
  sc.temperature = args.get_float("--temp");
  sc.top_k = args.get_int("--top-k");
  sc.top_p = args.get_float("--top-p");
  sc.min_p = args.get_float("--min-p");
  sc.repeat_penalty = args.get_float("--repeat-penalty");
  sc.penalty_last_n = args.get_int("--repeat-last-n");
  // As llama.cpp: a random seed unless -s is given; the caller prints it, so a run can be
  // replayed with -s.
  const auto seed = args.opt_u64("--seed");
  sc.seed = seed ? *seed : std::random_device{}();
  if (seed_given) *seed_given = seed.has_value();
  if (sc.temperature < 0 || sc.top_p <= 0 || sc.top_p > 1 || sc.min_p < 0 || sc.min_p > 1 ||
      sc.repeat_penalty <= 0 || sc.top_k < 0 || sc.penalty_last_n < 0)
    throw Error(
        "sampling parameters out of range (temperature >= 0, 0 < top-p <= 1, 0 <= min-p <= 1, "
        "repeat-penalty > 0, top-k >= 0, repeat-last-n >= 0)");
  return sc;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_kernel_stats(const Backend& backend, FILE* out) {
  std::fprintf(out, "%-16s %-14s %12s %10s %10s\n", "op", "variant", "calls", "fallbacks",
               "seconds");
  for (const OpStats& s : backend.stats())
    std::fprintf(out, "%-16s %-14s %12llu %10llu %10.4f\n", s.op.c_str(), s.variant.c_str(),
                 static_cast<unsigned long long>(s.calls),
                 static_cast<unsigned long long>(s.fallbacks), s.seconds);
}

void print_tp_report(const parallel::ShardedModel& shards, const ModelConfig& c, int tokens,
                     double seconds) {
  const auto mib = [](size_t b) { return static_cast<double>(b) / (1 << 20); };
  std::fprintf(stderr, "tensor parallel: %d ranks\n", shards.world());
  const auto bytes = shards.bytes_per_rank();
  for (size_t r = 0; r < bytes.size(); ++r)
    std::fprintf(stderr, "  rank %zu: weights %.1f MiB, KV cache %.1f MiB\n", r,
                 mib(bytes[r].first), mib(bytes[r].second));
  if (tokens <= 0) return;  // at start-up: the shards only
  const parallel::CommStats& s = shards.comm_stats();
  const double per_token_layer =
      tokens > 0 ? static_cast<double>(s.all_reduce_bytes) / tokens / c.n_layers : 0.0;
  std::fprintf(stderr,
               "  all-reduced: %.0f bytes per token and layer (%llu all-reduces, %.2f MiB); "
               "%llu all-gathers (%.2f MiB); %llu broadcasts\n",
               per_token_layer, static_cast<unsigned long long>(s.all_reduces),
               mib(s.all_reduce_bytes), static_cast<unsigned long long>(s.all_gathers),
               mib(s.all_gather_bytes), static_cast<unsigned long long>(s.broadcasts));
  std::fprintf(stderr, "  rank 0 in collectives: %.1f ms of %.1f ms (%.0f%%)\n", 1e3 * s.seconds,
               1e3 * seconds, seconds > 0 ? 100.0 * s.seconds / seconds : 0.0);
}

bool check_tp_options(int tp, const std::string& tp_backend, const std::string& device) {
  if (tp < 1) throw Error("--tp must be at least 1");
  const bool sharded = tp > 1 || tp_backend == "mpi";
  if (sharded && device != "cpu")
    throw Error(
        "--tp runs on the CPU here (--device cpu); NCCL ranks on GPUs need chapter 9's "
        "backend per rank, which llm does not wire up yet");
  return sharded;
}

}  // namespace llm::cli
