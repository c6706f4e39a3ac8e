// --help text and the README's command reference, both generated from the option tables.
#include <algorithm>

#include "args.h"

namespace llm::cli {

namespace {

constexpr size_t kWidth = 100;     // wrap help text here
constexpr size_t kMaxColumn = 34;  // a longer name list puts its help on the next line

// "  -m, --model FILE" (appended piece by piece: GCC 12 sees a false -Wrestrict in `a + b + c`)
std::string left_column(const Option& o) {
  std::string s = "  ";
  for (const char* c = o.names; *c; ++c) {
    if (*c == '|')
      s.append(", ");
    else
      s.push_back(*c);
  }
  if (*o.value) s.append(" ").append(o.value);
  return s;
}

// `text` from `column` on, word-wrapped at kWidth; continuation lines start at `indent`.
std::string wrap(const std::string& text, size_t column, size_t indent) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find(' ', at), text.size());
    const size_t len = end - at;
    if (at > 0) {
      if (column + 1 + len > kWidth) {
        out.append(1, '\n').append(indent, ' ');
        column = indent;
      } else {
        out += ' ';
        ++column;
      }
    }
    out.append(text, at, len);
    column += len;
    at = end + 1;
  }
  return out;
}

}  // namespace

std::string help_text(const Command& c) {
  static constexpr Option kHelp{"-h|--help", "", "print this help and exit", ""};
  std::string out = std::string("usage: llm ") + c.name + " " + c.synopsis + "\n\n" + c.summary +
                    "\n\noptions:\n";
  std::vector<const Option*> all;
  for (const Option& o : c.options) all.push_back(&o);
  all.push_back(&kHelp);
  size_t column = 0;
  for (const Option* o : all)
    if (left_column(*o).size() <= kMaxColumn) column = std::max(column, left_column(*o).size());
  column += 2;
  for (const Option* o : all) {
    std::string line = left_column(*o);
    if (line.size() + 2 > column)
      line.append(1, '\n').append(column, ' ');
    else
      line.append(column - line.size(), ' ');
    std::string help = o->help;
    if (*o->dflt) help.append(" (default: ").append(o->dflt).append(")");
    out.append(line).append(wrap(help, column, column)).append(1, '\n');
  }
  return out;
}

std::string markdown_reference(std::span<const Command* const> commands) {
  std::string out =
      "<!-- generated from the option tables by scripts/gen-cli-reference; do not edit -->\n"
      "| command | what it does |\n|---|---|\n";
  for (const Command* c : commands)
    out += std::string("| `llm ") + c->name + "` | " + c->summary + " |\n";
  out += "| `llm --version` | the version, the build and what this CPU offers |\n";
  for (const Command* c : commands)
    out += std::string("\n<details><summary><code>llm ") + c->name +
           " --help</code></summary>\n\n```text\n" + help_text(*c) + "```\n\n</details>\n";
  return out;
}

}  // namespace llm::cli
