// Readers for the reference data of chapter 2's tests: llama.cpp's vocabulary test vectors
// (ggml-vocab-*.gguf.inp / .out) and a line of space-separated ids.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "llm/testing/testing.h"

namespace llm::testing {

struct TokenizerCase {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

// As llama.cpp's test-tokenizer-0 reads them: the .inp file is cut at every
// "\n__ggml_vocab_test__\n" (the text between two separators is one case, exactly, so a case
// may be empty or hold newlines), and line i of the .out file holds the ids of case i, without
// BOS.
inline std::vector<TokenizerCase> read_vocab_cases(const std::string& gguf_path) {
  const std::string raw = read_file(gguf_path + ".inp");
  const std::string out = read_file(gguf_path + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<TokenizerCase> cases;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    cases.push_back(
        {raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos), {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i)
    if (i < cases.size()) cases[i].ids = parse_ids(line);
  return cases;
}

// Shows a test string with its control characters escaped, for failure messages.
inline std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += static_cast<char>(c);
  }
  return out;
}

inline std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace llm::testing
