// Jinja values: Python's truthiness, str(), ==, ordering, +, subscripts and slices.
#include <algorithm>

#include "jinja.h"
#include "llm/config/error.h"

namespace llm::jinja {

const Value* Value::get(const std::string& key) const {
  if (kind != DictV) return nullptr;
  for (const auto& [k, v] : *dict)
    if (k == key) return &v;
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (auto& [k, x] : *dict)
    if (k == key) {
      x = std::move(v);
      return;
    }
  dict->emplace_back(key, std::move(v));
}

bool py_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string strip(const std::string& s, bool left, bool right, const std::string* chars) {
  auto drop = [&](char c) { return chars ? chars->find(c) != std::string::npos : py_space(c); };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && drop(s[b])) ++b;
  if (right)
    while (e > b && drop(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// UTF-8 code point boundaries, so lengths and indices count characters as Python does.
std::vector<size_t> char_starts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  return starts;
}

bool is_number(const Value& v) {
  return v.kind == Value::Int || v.kind == Value::Bool;
}
int64_t num(const Value& v) {
  return v.kind == Value::Bool ? (v.b ? 1 : 0) : v.i;
}

const char* kind_name(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
      return "undefined";
    case Value::None:
      return "none";
    case Value::Bool:
      return "bool";
    case Value::Int:
      return "int";
    case Value::Str:
      return "string";
    case Value::ListV:
      return "list";
    case Value::DictV:
      return "dict";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
    case Value::None:
      return false;
    case Value::Bool:
      return v.b;
    case Value::Int:
      return v.i != 0;
    case Value::Str:
      return !v.s.empty();
    case Value::ListV:
      return !v.list->empty();
    case Value::DictV:
      return !v.dict->empty();
  }
  return false;
}

std::string repr(const Value& v);

// str(value), as {{ }} prints it.
std::string to_str(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
      return "";
    case Value::None:
      return "None";
    case Value::Bool:
      return v.b ? "True" : "False";
    case Value::Int:
      return std::to_string(v.i);
    case Value::Str:
      return v.s;
    default:
      return repr(v);
  }
}

std::string repr(const Value& v) {
  if (v.kind == Value::Str) {
    const char q =
        v.s.find('\'') != std::string::npos && v.s.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, q);
    for (char c : v.s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == q || c == '\\')
        out += {'\\', c};
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (u < 0x20 || u == 0x7f) {
        static const char* hex = "0123456789abcdef";
        out += {'\\', 'x', hex[u >> 4], hex[u & 15]};
      } else
        out += c;
    }
    return out + q;
  }
  if (v.kind == Value::ListV) {
    std::string out = "[";
    for (size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
    return out + "]";
  }
  if (v.kind == Value::DictV) {
    std::string out = "{";
    for (size_t i = 0; i < v.dict->size(); ++i)
      out +=
          (i ? ", " : "") + repr(Value::str((*v.dict)[i].first)) + ": " + repr((*v.dict)[i].second);
    return out + "}";
  }
  return to_str(v);
}

bool equals(const Value& a, const Value& b) {
  if (is_number(a) && is_number(b)) return num(a) == num(b);
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Str:
      return a.s == b.s;
    case Value::ListV:
      return a.list->size() == b.list->size() &&
             std::equal(a.list->begin(), a.list->end(), b.list->begin(), equals);
    case Value::DictV:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* o = b.get(k);
        if (!o || !equals(v, *o)) return false;
      }
      return true;
    default:
      return true;  // None == None, Undefined == Undefined
  }
}

Value checked_str(std::string s, int line) {
  if (s.size() > kMaxOutput) fail(line, "string exceeds 16 MiB");
  return Value::str(std::move(s));
}

Value get_attr(const Value& obj, const std::string& name, int line) {
  if (obj.kind == Value::Undefined)
    fail(line, "cannot read attribute '" + name + "' of an undefined value");
  if (const Value* v = obj.get(name)) return *v;
  return Value{};  // jinja2: a missing attribute is undefined
}

Value get_item(const Value& obj, const Value& key, int line) {
  if (obj.kind == Value::Undefined) fail(line, "cannot subscript an undefined value");
  if (obj.kind == Value::DictV && key.kind == Value::Str) return get_attr(obj, key.s, line);
  if ((obj.kind == Value::ListV || obj.kind == Value::Str) && is_number(key)) {
    const auto starts = obj.kind == Value::Str ? char_starts(obj.s) : std::vector<size_t>{};
    const auto size =
        static_cast<int64_t>(obj.kind == Value::ListV ? obj.list->size() : starts.size());
    int64_t i = num(key);
    if (i < 0) i += size;
    if (i < 0 || i >= size) return Value{};  // jinja2: a missing item is undefined
    if (obj.kind == Value::ListV) return (*obj.list)[static_cast<size_t>(i)];
    const size_t b = starts[static_cast<size_t>(i)];
    const size_t e = i + 1 < size ? starts[static_cast<size_t>(i + 1)] : obj.s.size();
    return Value::str(obj.s.substr(b, e - b));
  }
  return Value{};
}

Value slice(const Value& obj, const Value& start, const Value& stop, int line) {
  if (obj.kind != Value::ListV && obj.kind != Value::Str)
    fail(line, std::string("cannot slice a ") + kind_name(obj));
  const auto starts = obj.kind == Value::Str ? char_starts(obj.s) : std::vector<size_t>{};
  const auto size =
      static_cast<int64_t>(obj.kind == Value::ListV ? obj.list->size() : starts.size());
  auto bound = [&](const Value& v, int64_t fallback) {
    if (v.kind == Value::None) return fallback;
    if (!is_number(v)) fail(line, "slice indices must be integers");
    int64_t i = num(v);
    if (i < 0) i += size;
    return std::clamp<int64_t>(i, 0, size);
  };
  const int64_t b = bound(start, 0), e = std::max(b, bound(stop, size));
  if (obj.kind == Value::ListV) {
    Value out = Value::new_list();
    out.list->assign(obj.list->begin() + b, obj.list->begin() + e);
    return out;
  }
  auto at = [&](int64_t i) { return i < size ? starts[static_cast<size_t>(i)] : obj.s.size(); };
  return Value::str(obj.s.substr(at(b), at(e) - at(b)));
}

Value binary(const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "~") return checked_str(to_str(a) + to_str(b), line);
  if (op == "+") {
    if (is_number(a) && is_number(b)) {
      int64_t r;
      if (__builtin_add_overflow(num(a), num(b), &r)) fail(line, "integer overflow");
      return Value::integer(r);
    }
    if (a.kind == Value::Str && b.kind == Value::Str) return checked_str(a.s + b.s, line);
    if (a.kind == Value::ListV && b.kind == Value::ListV) {
      Value l = Value::new_list();
      *l.list = *a.list;
      l.list->insert(l.list->end(), b.list->begin(), b.list->end());
      return l;
    }
  } else if (is_number(a) && is_number(b)) {
    const int64_t x = num(a), y = num(b);
    int64_t r = 0;
    if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::integer(r);
    if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::integer(r);
    if (op == "/") fail(line, "'/' gives a float, and floats are not supported");
    if ((op == "//" || op == "%") && y == 0) fail(line, "division by zero");
    if ((op == "//" || op == "%") && !(x == INT64_MIN && y == -1)) {
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    fail(line, "integer overflow");
  } else if (op == "*" &&
             ((a.kind == Value::Str && is_number(b)) || (is_number(a) && b.kind == Value::Str))) {
    const std::string& s = a.kind == Value::Str ? a.s : b.s;
    const int64_t times = std::max<int64_t>(0, num(a.kind == Value::Str ? b : a));
    if (!s.empty() && static_cast<uint64_t>(times) > kMaxOutput / s.size())
      fail(line, "string exceeds 16 MiB");
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += s;
    return Value::str(std::move(out));
  }
  fail(line, "unsupported operand types for " + op + ": " + kind_name(a) + " and " + kind_name(b));
}

namespace {
bool contains(const Value& seq, const Value& item, int line) {
  switch (seq.kind) {
    case Value::Str:
      if (item.kind != Value::Str) fail(line, "'in <string>' needs a string on the left");
      return seq.s.find(item.s) != std::string::npos;
    case Value::ListV:
      return std::any_of(seq.list->begin(), seq.list->end(),
                         [&](const Value& v) { return equals(v, item); });
    case Value::DictV:
      return item.kind == Value::Str && seq.get(item.s) != nullptr;
    case Value::Undefined:
      return false;
    default:
      fail(line, std::string("'in' needs a string, list or dict, not ") + kind_name(seq));
  }
}

}  // namespace

bool compare(const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(b, a, line);
  if (op == "not in") return !contains(b, a, line);
  int c;
  if (is_number(a) && is_number(b))
    c = num(a) < num(b) ? -1 : num(a) > num(b);
  else if (a.kind == Value::Str && b.kind == Value::Str)
    c = a.s.compare(b.s);
  else
    fail(line, "cannot order " + std::string(kind_name(a)) + " and " + kind_name(b));
  if (op == "<") return c < 0;
  if (op == ">") return c > 0;
  if (op == "<=") return c <= 0;
  return c >= 0;
}

}  // namespace llm::jinja
