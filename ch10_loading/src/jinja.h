// Private to chat_template.cpp: the pieces of a small Jinja interpreter.
//
//   jinja_lexer.cpp     template text -> literal text and tags, each tag a list of tokens
//                       (whitespace control, trim_blocks, lstrip_blocks happen here)
//   jinja_parse.cpp     tokens -> syntax tree, with Jinja's operator precedence
//   jinja_eval.cpp      syntax tree + variables -> text (scopes, loops, set)
//   jinja_value.cpp     Python's value semantics: truthiness, str(), ==, <, +, [i], [a:b]
//   jinja_builtins.cpp  functions, methods, filters and tests
//
// It implements the subset chat templates use, with Python jinja2's semantics as Hugging Face
// configures it (trim_blocks, lstrip_blocks, Undefined renders as ""). Anything outside the
// subset is an llm::Error naming the line, never undefined behaviour: templates come from model
// files, so nesting depth, output size and work are all bounded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llm::jinja {

inline constexpr size_t kMaxOutput = size_t{1} << 24;  // 16 MiB: no chat prompt comes near

[[noreturn]] void fail(int line, const std::string& what);

// ---- values ----
struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, as Python's dict

struct Value {
  enum Kind { Undefined, None, Bool, Int, Str, ListV, DictV };
  Kind kind = Undefined;
  bool b = false;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<List> list;  // shared: Python lists and dicts are references
  std::shared_ptr<Dict> dict;  // a namespace() object has b = true (it accepts `set ns.x`)

  Value() = default;  // Undefined
  explicit Value(Kind k) : kind(k) {}
  static Value none() { return Value(None); }
  static Value boolean(bool v) {
    Value x(Bool);
    x.b = v;
    return x;
  }
  static Value integer(int64_t v) {
    Value x(Int);
    x.i = v;
    return x;
  }
  static Value str(std::string v) {
    Value x(Str);
    x.s = std::move(v);
    return x;
  }
  static Value new_list() {
    Value x(ListV);
    x.list = std::make_shared<List>();
    return x;
  }
  static Value new_dict() {
    Value x(DictV);
    x.dict = std::make_shared<Dict>();
    return x;
  }
  const Value* get(const std::string& key) const;  // dict lookup; nullptr when absent
  void set(const std::string& key, Value v);       // dict insert or replace
};

bool truthy(const Value& v);
std::string to_str(const Value& v);  // str(v), as {{ }} prints it
bool equals(const Value& a, const Value& b);
const char* kind_name(const Value& v);
bool is_number(const Value& v);  // int or bool (Python's bool is an int)
int64_t num(const Value& v);
std::vector<size_t> char_starts(const std::string& s);  // UTF-8 code point offsets
std::string strip(const std::string& s, bool left, bool right, const std::string* chars = nullptr);
Value checked_str(std::string s, int line);  // refuses strings beyond kMaxOutput
Value get_attr(const Value& obj, const std::string& name, int line);
Value get_item(const Value& obj, const Value& key, int line);
Value slice(const Value& obj, const Value& start, const Value& stop, int line);
Value binary(const std::string& op, const Value& a, const Value& b, int line);  // + - * // % ~
bool compare(const std::string& op, const Value& a, const Value& b, int line);  // == < in ...

// ---- built-ins ----
struct Args {
  List pos;
  Dict kw;
  const Value* get(size_t i, const std::string& name) const {  // positional i, or by name
    if (i < pos.size()) return &pos[i];
    for (const auto& [k, v] : kw)
      if (k == name) return &v;
    return nullptr;
  }
};
Value call_function(const std::string& name, const Args& a,
                    int line);  // raise_exception, namespace
Value call_method(const Value& obj, const std::string& name, const Args& a, int line);
Value apply_filter(const std::string& name, const Value& v, const Args& a, int line);
bool apply_test(const std::string& name, const Value& v, int line);

// ---- lexer ----
struct ParseOptions {
  bool trim_blocks = true;    // drop the first newline after a block tag
  bool lstrip_blocks = true;  // strip spaces and tabs before a block tag at line start
};

struct Token {
  enum Type { Name, String, Int, Op, Eof } type = Eof;
  std::string text;  // name, operator, or the decoded string
  int64_t value = 0;
  int line = 0;
};

// One piece of the template: literal text, a {{ variable }} or a {% block %} tag.
struct Item {
  enum Type { Text, Var, Block } type;
  std::string text;
  std::vector<Token> tokens;
  int line;
};

std::vector<Item> lex(const std::string& source, const ParseOptions& options);

// ---- syntax tree ----
struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  enum Kind {
    // expressions
    Literal,
    Name,
    GetAttr,
    GetItem,
    Slice,
    Call,
    Filter,
    Test,
    Not,
    Neg,
    Binary,
    Compare,
    And,
    Or,
    CondExpr,
    ListLit,
    // statements
    Text,
    Output,
    If,
    For,
    Set,
    Block,
  };
  Kind kind;
  int line = 0;
  std::string str;    // name, attribute, operator, filter or test name, text, set target
  std::string str2;   // Set: the attribute of a namespace (`set ns.attr = ...`)
  Value value;        // Literal
  bool flag = false;  // Test: negated (`is not`)
  // Operands / body. If: cond, body, cond, body, ..., [else body]. For: iterable, body,
  // [else body]. Call: callee, args. Filter: input, args. Slice: object, start, stop.
  std::vector<NodePtr> kids;
  std::vector<std::string> kw;  // Call/Filter: names of the trailing keyword args; Compare: ops
};

// Parses a template into a Block node; throws llm::Error("chat template: line N: ...").
NodePtr parse(const std::string& source, const ParseOptions& options);

// Renders a parsed template with the given global variables.
std::string render(const Node& root, const Dict& globals);

}  // namespace llm::jinja
