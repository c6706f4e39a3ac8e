// GgufWriter — writes a GGUF v3 file: metadata key/values, tensor infos, aligned tensor data.
//
// The inverse of GgufFile, used by `llm quantize` and by tests that build small synthetic
// models in every format. Keys keep the order they were set in (as llama.cpp's writer does);
// setting a key twice replaces its value. Tensors are written in the order added, each at the
// next multiple of the alignment, so a file this writes is one llama.cpp reads.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "llm/config/gguf_metadata.h"
#include "llm/config/tensor.h"

namespace llm {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32);  // a power of two; != 32 is written as a key

  // Any metadata value, as GgufMetadata reads them (numbers in arrays are narrowed back to
  // the array's element type on write).
  void set(const std::string& key, GgufValue value);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, std::string v);
  void set_strings(const std::string& key, std::vector<std::string> v);
  void set_array(const std::string& key, GgufType elem_type, std::vector<double> v);
  // Every key of `meta` except those `skip` returns true for (order: the reader's, sorted).
  template <class Skip>
  void copy_metadata(const GgufMetadata& meta, Skip skip) {
    for (const auto& [k, v] : meta.entries())
      if (!skip(k)) set(k, v);
  }
  bool has(const std::string& key) const;

  // Adds a tensor (any DType, 1–4 dimensions); the bytes are read at write() time, so the
  // tensor's memory must stay alive until then (a Tensor's owner keeps it so).
  void add_tensor(const std::string& name, const Tensor& tensor);
  size_t tensor_count() const { return tensors_.size(); }

  void write(std::ostream& out) const;
  void write(const std::string& path) const;  // throws llm::Error naming the file on failure
  std::string to_string() const;              // the whole file in memory (tests, fuzz seeds)

 private:
  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace llm
