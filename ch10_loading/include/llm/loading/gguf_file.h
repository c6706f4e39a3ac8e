// GgufFile — a whole GGUF file: chapter 1's metadata plus the tensor section, memory-mapped.
//
// Chapter 1 stopped at `GgufMetadata::tensor_infos_offset()`; this continues there. Each tensor
// info (name, extents innermost-first, ggml type, offset) is checked against the file before
// anything is built from it: the type must be one this engine computes with, the extents
// positive and their product free of overflow, the offset a multiple of `general.alignment`,
// and the bytes inside the file without overlapping another tensor. Tensors then *borrow*
// from the mapping (the MappedFile is their owner), so loading a model copies no weights.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/config/gguf_metadata.h"
#include "llm/config/tensor.h"
#include "llm/transformer/model.h"

namespace llm {

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;          // outermost first (GGUF lists extents innermost first; flipped here)
  uint64_t offset = 0;  // relative to the start of the data section
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path) { return parse(MappedFile::open(path)); }
  // Parses and validates the metadata and the tensor section; throws llm::Error naming the
  // file, the tensor and the field when anything is out of range.
  static GgufFile parse(std::shared_ptr<const MappedFile> file);

  const GgufMetadata& metadata() const { return meta_; }
  const std::string& source() const { return meta_.source(); }
  uint64_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // absolute file offset of the data section
  size_t file_size() const { return meta_.file()->size(); }
  const std::vector<GgufTensorInfo>& tensor_infos() const { return infos_; }
  const GgufTensorInfo* find(const std::string& name) const;

  // A zero-copy view of one tensor; the mapping stays alive as long as the tensor does.
  Tensor tensor(const GgufTensorInfo& info) const;
  // Every tensor under its GGUF name (llama.cpp's names, which Model::from_tensors expects).
  TensorMap tensors() const;

 private:
  GgufMetadata meta_;
  uint64_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<GgufTensorInfo> infos_;
};

// ggml's name for a type id ("q5_k", "iq2_xxs", ...), or "unknown"; for error messages about
// types this engine does not support.
std::string ggml_type_name(uint32_t id);

}  // namespace llm
