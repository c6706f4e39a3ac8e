#include "llm/loading/gguf_writer.h"

#include <fstream>
#include <set>
#include <sstream>

#include "llm/config/error.h"

namespace llm {
namespace {

template <class T>
void put(std::ostream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);  // little-endian hosts only
}

void put_string(std::ostream& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

void pad(std::ostream& out, uint64_t written, uint64_t alignment) {
  static const char zeros[64] = {};
  uint64_t n = (alignment - written % alignment) % alignment;
  for (; n > 0; n -= std::min<uint64_t>(n, sizeof zeros))
    out.write(zeros, static_cast<std::streamsize>(std::min<uint64_t>(n, sizeof zeros)));
}

double as_number(const std::variant<uint64_t, int64_t, double, bool, std::string>& v) {
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b;
  throw Error("GgufWriter: a string where a number was expected");
}

// Writes one number as `t`. Integers travel exactly when they are stored as integers.
void put_number(std::ostream& out, GgufType t,
                const std::variant<uint64_t, int64_t, double, bool, std::string>& v) {
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  const uint64_t bits = u   ? *u
                        : i ? static_cast<uint64_t>(*i)
                            : static_cast<uint64_t>(static_cast<int64_t>(as_number(v)));
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
      put<uint8_t>(out, static_cast<uint8_t>(bits));
      return;
    case GgufType::BOOL:
      put<uint8_t>(out, as_number(v) != 0 ? 1 : 0);
      return;
    case GgufType::U16:
    case GgufType::I16:
      put<uint16_t>(out, static_cast<uint16_t>(bits));
      return;
    case GgufType::U32:
    case GgufType::I32:
      put<uint32_t>(out, static_cast<uint32_t>(bits));
      return;
    case GgufType::U64:
    case GgufType::I64:
      put<uint64_t>(out, bits);
      return;
    case GgufType::F32:
      put<float>(out, static_cast<float>(as_number(v)));
      return;
    case GgufType::F64:
      put<double>(out, as_number(v));
      return;
    default:
      throw Error("GgufWriter: type " + std::string(gguf_type_name(t)) + " is not a number");
  }
}

void put_array(std::ostream& out, const GgufValue& v);

void put_value(std::ostream& out, const GgufValue& v) {
  if (v.type == GgufType::STRING) {
    const auto* s = std::get_if<std::string>(&v.scalar);
    if (!s) throw Error("GgufWriter: a string value holds no string");
    put_string(out, *s);
  } else if (v.type == GgufType::ARRAY) {
    put_array(out, v);
  } else {
    put_number(out, v.type, v.scalar);
  }
}

void put_array(std::ostream& out, const GgufValue& v) {
  put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
  put<uint64_t>(out, v.array_size());
  if (v.elem_type == GgufType::STRING) {
    for (const std::string& s : v.strings) put_string(out, s);
  } else if (v.elem_type == GgufType::ARRAY) {
    for (const GgufValue& n : v.nested) put_array(out, n);
  } else {
    for (double d : v.numbers) {
      if (v.elem_type == GgufType::F32 || v.elem_type == GgufType::F64)
        put_number(out, v.elem_type, d);
      else if (d < 0)
        put_number(out, v.elem_type, static_cast<int64_t>(d));
      else
        put_number(out, v.elem_type, static_cast<uint64_t>(d));
    }
  }
}

void check_alignment(uint64_t a) {
  if (a == 0 || a > (uint64_t{1} << 30) || (a & (a - 1)) != 0)
    throw Error("GgufWriter: alignment " + std::to_string(a) + " is not a power of two");
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  check_alignment(alignment);
  if (alignment != 32) set_u32("general.alignment", alignment);
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key == "general.alignment") {
    const uint64_t a = static_cast<uint64_t>(as_number(value.scalar));
    check_alignment(a);
    alignment_ = static_cast<uint32_t>(a);
  }
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

namespace {
GgufValue scalar(GgufType t, std::variant<uint64_t, int64_t, double, bool, std::string> v) {
  GgufValue g;
  g.type = t;
  g.scalar = std::move(v);
  return g;
}
}  // namespace

void GgufWriter::set_u32(const std::string& k, uint32_t v) {
  set(k, scalar(GgufType::U32, uint64_t{v}));
}
void GgufWriter::set_i32(const std::string& k, int32_t v) {
  set(k, scalar(GgufType::I32, int64_t{v}));
}
void GgufWriter::set_u64(const std::string& k, uint64_t v) {
  set(k, scalar(GgufType::U64, v));
}
void GgufWriter::set_f32(const std::string& k, float v) {
  set(k, scalar(GgufType::F32, double{v}));
}
void GgufWriter::set_bool(const std::string& k, bool v) {
  set(k, scalar(GgufType::BOOL, v));
}
void GgufWriter::set_string(const std::string& k, std::string v) {
  set(k, scalar(GgufType::STRING, std::move(v)));
}
void GgufWriter::set_strings(const std::string& k, std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.elem_type = GgufType::STRING;
  g.strings = std::move(v);
  set(k, std::move(g));
}
void GgufWriter::set_array(const std::string& k, GgufType elem, std::vector<double> v) {
  if (elem == GgufType::STRING || elem == GgufType::ARRAY)
    throw Error("GgufWriter::set_array takes numbers; use set_strings or set");
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.elem_type = elem;
  g.numbers = std::move(v);
  set(k, std::move(g));
}

bool GgufWriter::has(const std::string& key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return true;
  return false;
}

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  if (t.empty()) throw Error("GgufWriter: tensor '" + name + "' is empty");
  if (t.shape().ndim < 1) throw Error("GgufWriter: tensor '" + name + "' has no dimensions");
  for (const auto& [n, _] : tensors_)
    if (n == name) throw Error("GgufWriter: tensor '" + name + "' added twice");
  tensors_.emplace_back(name, t);
}

void GgufWriter::write(std::ostream& out) const {
  out.write("GGUF", 4);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_.size());
  uint64_t written = 24;
  std::ostringstream meta;  // sized once so the data section can be aligned from its length
  for (const auto& [key, v] : kv_) {
    put_string(meta, key);
    put<uint32_t>(meta, static_cast<uint32_t>(v.type));
    put_value(meta, v);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    put_string(meta, name);
    const Shape& s = t.shape();
    put<uint32_t>(meta, static_cast<uint32_t>(s.ndim));
    for (int i = s.ndim - 1; i >= 0; --i) put<uint64_t>(meta, static_cast<uint64_t>(s[i]));
    put<uint32_t>(meta, static_cast<uint32_t>(t.dtype()));
    put<uint64_t>(meta, offset);
    offset += (t.nbytes() + alignment_ - 1) / alignment_ * alignment_;
  }
  const std::string m = meta.str();
  out.write(m.data(), static_cast<std::streamsize>(m.size()));
  written += m.size();
  pad(out, written, alignment_);
  for (const auto& [name, t] : tensors_) {
    out.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
    pad(out, t.nbytes(), alignment_);
  }
}

void GgufWriter::write(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open for writing");
  write(out);
  out.flush();
  if (!out) throw Error(path + ": write failed (disk full?)");
}

std::string GgufWriter::to_string() const {
  std::ostringstream out;
  write(out);
  return out.str();
}

}  // namespace llm
