#include "llm/config/gguf_metadata.h"

#include <string>

namespace llm {
namespace {

constexpr int kMaxNesting = 4;  // arrays of arrays deeper than this are refused as corrupt

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    default:
      return 0;
  }
}

GgufType read_type(ByteReader& r, std::string_view field) {
  const uint32_t t = r.read<uint32_t>(field);
  if (t > static_cast<uint32_t>(GgufType::F64))
    r.fail(field, "unknown value type " + std::to_string(t) + " (expected 0..12)");
  return static_cast<GgufType>(t);
}

// Reads a scalar of type t and returns it widened.
std::variant<uint64_t, int64_t, double, bool, std::string> read_scalar(ByteReader& r, GgufType t,
                                                                       std::string_view field) {
  switch (t) {
    case GgufType::U8:
      return uint64_t{r.read<uint8_t>(field)};
    case GgufType::I8:
      return int64_t{r.read<int8_t>(field)};
    case GgufType::U16:
      return uint64_t{r.read<uint16_t>(field)};
    case GgufType::I16:
      return int64_t{r.read<int16_t>(field)};
    case GgufType::U32:
      return uint64_t{r.read<uint32_t>(field)};
    case GgufType::I32:
      return int64_t{r.read<int32_t>(field)};
    case GgufType::U64:
      return r.read<uint64_t>(field);
    case GgufType::I64:
      return r.read<int64_t>(field);
    case GgufType::F32:
      return double{r.read<float>(field)};
    case GgufType::F64:
      return r.read<double>(field);
    case GgufType::BOOL: {
      const uint8_t b = r.read<uint8_t>(field);
      if (b > 1) r.fail(field, "bool must be 0 or 1, got " + std::to_string(b));
      return b == 1;
    }
    case GgufType::STRING:
      return GgufMetadata::read_string(r, field);
    default:
      r.fail(field, "not a scalar type");
  }
}

double as_double(const std::variant<uint64_t, int64_t, double, bool, std::string>& v) {
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return 0.0;
}

GgufValue read_value(ByteReader& r, GgufType t, std::string_view field, int depth) {
  GgufValue v;
  v.type = t;
  if (t != GgufType::ARRAY) {
    v.scalar = read_scalar(r, t, field);
    return v;
  }
  if (depth >= kMaxNesting) r.fail(field, "arrays nested too deeply");
  v.elem_type = read_type(r, field);
  const uint64_t n_raw = r.read<uint64_t>(field);
  // Every element takes at least one byte (strings: 8 for their length).
  const size_t min_each = v.elem_type == GgufType::STRING  ? 8
                          : v.elem_type == GgufType::ARRAY ? 12
                                                           : scalar_size(v.elem_type);
  const uint64_t n = r.count(n_raw, min_each, field);
  if (v.elem_type == GgufType::STRING) {
    v.strings.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.strings.push_back(GgufMetadata::read_string(r, field));
  } else if (v.elem_type == GgufType::ARRAY) {
    v.nested.reserve(n);
    for (uint64_t i = 0; i < n; ++i)
      v.nested.push_back(read_value(r, GgufType::ARRAY, field, depth + 1));
  } else {
    v.numbers.reserve(n);
    for (uint64_t i = 0; i < n; ++i)
      v.numbers.push_back(as_double(read_scalar(r, v.elem_type, field)));
  }
  return v;
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  static constexpr std::string_view names[] = {"u8",  "i8",  "u16",  "i16",    "u32",
                                               "i32", "f32", "bool", "string", "array",
                                               "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : "unknown";
}

size_t GgufValue::array_size() const {
  if (!is_array()) return 0;
  if (elem_type == GgufType::STRING) return strings.size();
  if (elem_type == GgufType::ARRAY) return nested.size();
  return numbers.size();
}

std::string GgufMetadata::read_string(ByteReader& r, std::string_view field) {
  const uint64_t len = r.read<uint64_t>(field);
  return std::string(r.take_string(len, field));
}

GgufMetadata GgufMetadata::parse(std::shared_ptr<const MappedFile> file) {
  GgufMetadata m;
  m.source_ = file->path();
  ByteReader r(file->bytes(), file->path());
  const auto magic = r.take_string(4, "magic");
  if (magic != "GGUF") r.fail("magic", "not a GGUF file (expected the bytes \"GGUF\")");
  m.version_ = r.read<uint32_t>("version");
  if (m.version_ != 2 && m.version_ != 3)
    r.fail("version", "GGUF version " + std::to_string(m.version_) + " is not supported (2 or 3)");
  // Each tensor info needs at least 8 (name length) + 4 + 8 + 4 + 8 bytes.
  m.tensor_count_ = r.count(r.read<uint64_t>("tensor_count"), 32, "tensor_count");
  const uint64_t n_kv = r.count(r.read<uint64_t>("kv_count"), 12, "kv_count");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_string(r, "metadata key");
    const GgufType t = read_type(r, key);
    GgufValue v = read_value(r, t, key, 0);
    if (!m.kv_.emplace(key, std::move(v)).second) r.fail(key, "duplicate metadata key");
  }
  m.tensor_infos_offset_ = r.offset();
  m.file_ = std::move(file);
  return m;
}

const GgufValue* GgufMetadata::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void wrong(const std::string& src, const std::string& key, const GgufValue& v,
                        const char* expected) {
  throw Error(src + ": metadata key '" + key + "' is " + std::string(gguf_type_name(v.type)) +
              ", expected " + expected);
}
}  // namespace

std::optional<std::string> GgufMetadata::opt_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::STRING) wrong(source_, key, *v, "a string");
  return std::get<std::string>(v->scalar);
}

std::optional<int64_t> GgufMetadata::opt_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* u = std::get_if<uint64_t>(&v->scalar); u && !v->is_array()) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) wrong(source_, key, *v, "an integer below 2^63");
    return static_cast<int64_t>(*u);
  }
  if (auto* i = std::get_if<int64_t>(&v->scalar); i && !v->is_array()) return *i;
  wrong(source_, key, *v, "an integer");
}

std::optional<double> GgufMetadata::opt_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_array() || v->type == GgufType::STRING || v->type == GgufType::BOOL)
    wrong(source_, key, *v, "a number");
  return as_double(v->scalar);
}

std::optional<bool> GgufMetadata::opt_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::BOOL) wrong(source_, key, *v, "a bool");
  return std::get<bool>(v->scalar);
}

namespace {
template <class T>
T required(const std::optional<T>& v, const std::string& src, const std::string& key) {
  if (!v) throw Error(src + ": required metadata key '" + key + "' is missing");
  return *v;
}
}  // namespace

std::string GgufMetadata::get_string(const std::string& key) const {
  return required(opt_string(key), source_, key);
}
int64_t GgufMetadata::get_int(const std::string& key) const {
  return required(opt_int(key), source_, key);
}
double GgufMetadata::get_float(const std::string& key) const {
  return required(opt_float(key), source_, key);
}
bool GgufMetadata::get_bool(const std::string& key) const {
  return required(opt_bool(key), source_, key);
}

const std::vector<std::string>& GgufMetadata::get_strings(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error(source_ + ": required metadata key '" + key + "' is missing");
  if (!v->is_array() || v->elem_type != GgufType::STRING)
    wrong(source_, key, *v, "an array of strings");
  return v->strings;
}

const std::vector<double>& GgufMetadata::get_numbers(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error(source_ + ": required metadata key '" + key + "' is missing");
  if (!v->is_array() || v->elem_type == GgufType::STRING || v->elem_type == GgufType::ARRAY)
    wrong(source_, key, *v, "an array of numbers");
  return v->numbers;
}

}  // namespace llm
