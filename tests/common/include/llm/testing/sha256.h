// SHA-256 (FIPS 180-4), so tests can compare tensor bytes with digests recorded by other tools
// (tests/golden/*.llamacpp.json lists the sha256 of every tensor llama.cpp's quantizer wrote).
#pragma once

#include <cstddef>
#include <string>

namespace llm::testing {

// Lower-case hex digest of n bytes.
std::string sha256_hex(const void* data, size_t n);

}  // namespace llm::testing
