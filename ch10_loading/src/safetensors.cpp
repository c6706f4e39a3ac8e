#include "llm/loading/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "borrow_aligned.h"
#include "llm/config/error.h"

namespace llm {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 16;  // a safetensors header nests three levels deep

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error(source + ": " + what);
}

uint64_t element_bytes(DType t) {
  return t == DType::F32 ? 4 : 2;
}

uint64_t as_u64(const json& v, const std::string& source, const std::string& what) {
  // nlohmann stores non-negative integers as unsigned; anything else (negative, fractional, a
  // number past 2^64 that became a double) is refused.
  if (!v.is_number_unsigned()) fail(source, what + " must be a non-negative integer");
  return v.get<uint64_t>();
}

SafetensorsTensorInfo read_entry(const std::string& name, const json& e, const std::string& src) {
  const std::string field = "tensor '" + name + "'";
  if (!e.is_object()) fail(src, field + " must be a JSON object");
  SafetensorsTensorInfo info;
  info.name = name;
  const auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) fail(src, field + ": 'dtype' must be a string");
  info.dtype = safetensors_dtype(dt->get<std::string>(), name, src);

  const auto shape = e.find("shape");
  if (shape == e.end() || !shape->is_array()) fail(src, field + ": 'shape' must be an array");
  if (shape->empty() || shape->size() > static_cast<size_t>(kMaxDims))
    fail(src, field + ": shape has " + std::to_string(shape->size()) + " dimensions, expected 1.." +
                  std::to_string(kMaxDims));
  std::vector<int64_t> dims;
  uint64_t numel = 1;
  for (const json& d : *shape) {
    const uint64_t x = as_u64(d, src, field + ": each shape extent");
    if (x == 0 || x > static_cast<uint64_t>(INT64_MAX))
      fail(src, field + ": shape extent " + std::to_string(x) + " (must be positive)");
    if (__builtin_mul_overflow(numel, x, &numel) || numel > static_cast<uint64_t>(INT64_MAX))
      fail(src, field + ": shape " + shape->dump() + " overflows the element count");
    dims.push_back(static_cast<int64_t>(x));
  }
  info.shape = Shape::of(dims);

  const auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2)
    fail(src, field + ": 'data_offsets' must be an array [begin, end]");
  info.begin = as_u64((*off)[0], src, field + ": data_offsets[0]");
  info.end = as_u64((*off)[1], src, field + ": data_offsets[1]");
  if (info.begin > info.end)
    fail(src, field + ": data_offsets [" + std::to_string(info.begin) + ", " +
                  std::to_string(info.end) + "] has begin after end");
  uint64_t expected;
  if (__builtin_mul_overflow(numel, element_bytes(info.dtype), &expected))
    fail(src, field + ": byte size overflows");
  if (info.end - info.begin != expected)
    fail(src, field + ": data_offsets cover " + std::to_string(info.end - info.begin) +
                  " bytes but shape " + info.shape.str() + " of " +
                  safetensors_dtype_name(info.dtype) + " needs " + std::to_string(expected));
  return info;
}

}  // namespace

DType safetensors_dtype(const std::string& name, const std::string& tensor,
                        const std::string& source) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  fail(source, "tensor '" + tensor + "': dtype '" + name + "' is not supported (F32, F16, BF16)");
}

std::string safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    default:
      throw Error("safetensors holds F32, F16 or BF16, not " + std::string(dtype_name(t)));
  }
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const MappedFile> file) {
  const std::string& src = file->path();
  const size_t size = file->size();
  if (size < 8) fail(src, "too short for a safetensors header length (8 bytes)");
  uint64_t n;
  std::memcpy(&n, file->data(), 8);  // little-endian, like every target this engine runs on
  if (n > kMaxHeaderBytes)
    fail(src,
         "header length " + std::to_string(n) + " exceeds the 100 MB limit (not safetensors?)");
  if (n > size - 8)
    fail(src, "header length " + std::to_string(n) + " runs past the end of the " +
                  std::to_string(size) + "-byte file");
  if (n < 2) fail(src, "header length " + std::to_string(n) + " is too short for a JSON object");

  const char* text = reinterpret_cast<const char*>(file->data() + 8);
  json header;
  try {
    // Parsing is iterative in nlohmann::json, but cap the depth anyway: no real header nests
    // more than three levels, and a deeply nested document costs memory for nothing.
    header = json::parse(text, text + n, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth) throw Error("JSON nested deeper than 16 levels");
      return true;
    });
  } catch (const json::exception& e) {
    fail(src, std::string("header is not valid JSON (") + e.what() + ")");
  } catch (const Error& e) {
    fail(src, std::string("header: ") + e.what());
  }
  if (!header.is_object()) fail(src, "header must be a JSON object");

  SafetensorsFile f;
  f.file_ = std::move(file);
  f.data_offset_ = 8 + static_cast<size_t>(n);
  const uint64_t data_size = size - f.data_offset_;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(src, "__metadata__ must be a JSON object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(src, "__metadata__['" + k + "'] must be a string");
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    SafetensorsTensorInfo info = read_entry(name, entry, src);
    if (info.end > data_size)
      fail(src, "tensor '" + name + "': data_offsets end " + std::to_string(info.end) +
                    " is past the end of the data (" + std::to_string(data_size) +
                    " bytes; truncated file?)");
    f.infos_.push_back(std::move(info));
  }

  std::vector<const SafetensorsTensorInfo*> sorted;
  for (const auto& t : f.infos_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end)
      fail(src,
           "tensor '" + sorted[i]->name + "': data overlaps tensor '" + sorted[i - 1]->name + "'");
  return f;
}

const SafetensorsTensorInfo* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : infos_)
    if (t.name == name) return &t;
  return nullptr;
}

Tensor SafetensorsFile::tensor(const SafetensorsTensorInfo& info) const {
  return detail::borrow_aligned(file_->data() + data_offset_ + info.begin, info.dtype, info.shape,
                                file_);
}

TensorMap SafetensorsFile::tensors() const {
  TensorMap out;
  for (const auto& t : infos_) out.emplace(t.name, tensor(t));
  return out;
}

}  // namespace llm
