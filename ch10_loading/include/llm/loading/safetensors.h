// SafetensorsFile — one `.safetensors` file, memory-mapped and validated.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte after the
// header), then the raw tensor bytes, row-major, outermost extent first — the same order as our
// Shape, so nothing is flipped. The optional "__metadata__" entry (string to string) is kept
// but not interpreted. Every tensor's range is checked (begin <= end <= data size, end - begin
// equal to numel × element size, no overlap with another tensor) before a Tensor borrows it.
// Names stay Hugging Face's here; hf_checkpoint.h maps them to llama.cpp's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm/config/mapped_file.h"
#include "llm/config/tensor.h"
#include "llm/transformer/model.h"

namespace llm {

struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::F32;  // F32, F16 or BF16
  Shape shape;               // outermost first, as stored
  uint64_t begin = 0;        // byte range in the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // The safetensors reference implementation refuses headers above 100 MB; so do we, before
  // reading (or allocating for) anything.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  static SafetensorsFile open(const std::string& path) { return parse(MappedFile::open(path)); }
  static SafetensorsFile parse(std::shared_ptr<const MappedFile> file);

  const std::string& source() const { return file_->path(); }
  size_t data_offset() const { return data_offset_; }
  const std::vector<SafetensorsTensorInfo>& tensor_infos() const { return infos_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsTensorInfo* find(const std::string& name) const;

  Tensor tensor(const SafetensorsTensorInfo& info) const;  // zero-copy view
  TensorMap tensors() const;                               // Hugging Face names as stored

 private:
  std::shared_ptr<const MappedFile> file_;
  size_t data_offset_ = 0;
  std::vector<SafetensorsTensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// "F32" -> DType::F32 etc.; throws llm::Error naming the tensor for any other dtype string.
DType safetensors_dtype(const std::string& name, const std::string& tensor,
                        const std::string& source);
std::string safetensors_dtype_name(DType t);  // DType::BF16 -> "BF16"

}  // namespace llm
