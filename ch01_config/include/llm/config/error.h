// llm::Error — the one exception type for bad input (files, requests, arguments).
//
// Its message names the source (a file, a field, an argument) and what was expected, so a
// user can act on it. Library code throws it instead of aborting; the CLI prints it and the
// server (chapter 12) maps it to an HTTP error. Internal invariants use assert instead.
#pragma once

#include <stdexcept>
#include <string>

namespace llm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace llm
