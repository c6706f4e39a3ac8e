// GgufMetadata — the header and key/value section of a GGUF file (v2 and v3).
//
// GGUF is the file format of llama.cpp: a header, typed key/value metadata (hyper-parameters,
// the tokenizer's vocabulary, the chat template), tensor infos, then aligned tensor data. This
// chapter reads the metadata, so configurations (ModelConfig::from_gguf) and tokenizers
// (chapter 2) can come from the files people have. Chapter 10 plugs in here: it continues at
// `tensor_infos_offset` to read the tensor section and map the weights.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "llm/config/byte_reader.h"
#include "llm/config/mapped_file.h"

namespace llm {

enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string_view gguf_type_name(GgufType t);

struct GgufValue;
using GgufArray = std::vector<GgufValue>;

// One metadata value. Scalars are widened (integers to int64/uint64, floats to double) but the
// file's type is kept in `type`. Arrays of strings — the vocabulary, the merges — are stored
// flat in `strings` rather than as a vector of values, since they hold tens of thousands of
// entries.
struct GgufValue {
  GgufType type = GgufType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  GgufType elem_type = GgufType::U8;  // arrays only
  std::vector<std::string> strings;   // arrays of strings
  std::vector<double> numbers;        // arrays of numbers (int or float, widened)
  std::vector<GgufValue> nested;      // arrays of arrays
  bool is_array() const { return type == GgufType::ARRAY; }
  size_t array_size() const;
};

class GgufMetadata {
 public:
  // Parses the header and key/value section of `file`.
  static GgufMetadata parse(std::shared_ptr<const MappedFile> file);
  static GgufMetadata load(const std::string& path) { return parse(MappedFile::open(path)); }

  uint32_t version() const { return version_; }
  uint64_t tensor_count() const { return tensor_count_; }
  size_t tensor_infos_offset() const { return tensor_infos_offset_; }  // where chapter 10 goes on
  const std::shared_ptr<const MappedFile>& file() const { return file_; }
  const std::string& source() const { return source_; }
  const std::map<std::string, GgufValue>& entries() const { return kv_; }

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;
  // Typed getters; throw llm::Error naming the file and key when missing or of the wrong type.
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;   // any integer type
  double get_float(const std::string& key) const;  // any numeric type
  bool get_bool(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  const std::vector<double>& get_numbers(const std::string& key) const;
  // Optional variants: nullopt when absent (still throw on a wrong type).
  std::optional<std::string> opt_string(const std::string& key) const;
  std::optional<int64_t> opt_int(const std::string& key) const;
  std::optional<double> opt_float(const std::string& key) const;
  std::optional<bool> opt_bool(const std::string& key) const;

  // Reads one GGUF string (uint64 length + bytes) at the reader's cursor.
  static std::string read_string(ByteReader& r, std::string_view field);

 private:
  std::shared_ptr<const MappedFile> file_;
  std::string source_;
  uint32_t version_ = 0;
  uint64_t tensor_count_ = 0;
  size_t tensor_infos_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
};

}  // namespace llm
