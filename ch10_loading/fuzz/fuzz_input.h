// Shared by the fuzz targets: the loaders read files through MappedFile, so each input is
// written to an in-memory file (memfd) and opened by its /proc path — no disk traffic.
//
// AddressSanitizer cannot see reads past the end of a mapping that stay inside its last page
// (the kernel fills that page with zeros), so the targets also check explicitly that every
// tensor a loader returns lies inside the file.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "llm/config/mapped_file.h"
#include "llm/config/tensor.h"

namespace llm::fuzz {

class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) : fd_(memfd_create("llm-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Traps unless the tensor's bytes lie inside [file, file + size) or in memory it owns; reads
// its first and last byte so that a bad pointer faults here, under the sanitizer.
inline void check_inside(const Tensor& t, const MappedFile& file) {
  const auto* p = static_cast<const std::byte*>(t.data());
  const auto* begin = file.data();
  const auto* end = begin + file.size();
  const bool in_file = p >= begin && p <= end && t.nbytes() <= static_cast<size_t>(end - p);
  // A misaligned tensor is copied into owned memory (see borrow_aligned.h): not in the file.
  const bool owned = !(p >= begin && p < end);
  if (!in_file && !owned) __builtin_trap();
  if (t.nbytes() > 0) {
    volatile std::byte first = p[0];
    volatile std::byte last = p[t.nbytes() - 1];
    (void)first;
    (void)last;
  }
}

}  // namespace llm::fuzz
