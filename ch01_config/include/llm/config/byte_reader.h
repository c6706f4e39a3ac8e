// ByteReader — a bounds-checked cursor over bytes from a file.
//
// Every read checks the remaining length first and throws llm::Error naming the file, the field
// and the offset, so a truncated or corrupt file can never make the parser read past its end.
// Counts read from a file are checked against what the remaining bytes could hold before any
// allocation is sized by them (see `count`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "llm/config/error.h"

namespace llm {

class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  size_t offset() const { return pos_; }
  size_t size() const { return bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& source() const { return source_; }
  std::span<const std::byte> bytes() const { return bytes_; }

  template <class T>
  T read(std::string_view field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // A view of the next n bytes (no copy).
  std::span<const std::byte> take(uint64_t n, std::string_view field) {
    need(n, field);
    auto s = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  std::string_view take_string(uint64_t n, std::string_view field) {
    auto s = take(n, field);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  void skip(uint64_t n, std::string_view field) { take(n, field); }
  void seek(size_t pos, std::string_view field) {
    if (pos > bytes_.size()) fail(field, "offset " + std::to_string(pos) + " is past the end");
    pos_ = pos;
  }
  // Validates an element count read from the file: each element needs at least
  // `min_bytes_each` bytes, so a count larger than remaining()/min_bytes_each is corrupt.
  uint64_t count(uint64_t n, uint64_t min_bytes_each, std::string_view field) const {
    if (min_bytes_each > 0 && n > remaining() / min_bytes_each)
      fail(field, "count " + std::to_string(n) + " cannot fit in the " +
                      std::to_string(remaining()) + " bytes left");
    return n;
  }

  [[noreturn]] void fail(std::string_view field, const std::string& what) const {
    throw Error(source_ + ": " + std::string(field) + " at byte " + std::to_string(pos_) + ": " +
                what);
  }

 private:
  void need(uint64_t n, std::string_view field) const {
    if (n > remaining())
      fail(field, "needs " + std::to_string(n) + " bytes but the file has " +
                      std::to_string(remaining()) + " left (truncated?)");
  }
  std::span<const std::byte> bytes_;
  std::string source_;
  size_t pos_ = 0;
};

}  // namespace llm
