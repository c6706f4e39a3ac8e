// MappedFile — a whole file mapped read-only into memory (RAII).
//
// Model weights are used straight from the page cache: nothing is copied, and pages are read
// from disk only when touched. Tensors borrow from the mapping and keep it alive through a
// shared_ptr (see Tensor::borrow).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace llm {

class MappedFile {
 public:
  // Maps `path`; throws llm::Error naming the file when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  size_t size() const { return size_; }
  const std::byte* data() const { return data_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  MappedFile() = default;
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace llm
