// Jinja built-ins: the functions, string and dict methods, filters and tests chat templates use.
#include <cctype>

#include "jinja.h"
#include "llm/config/error.h"

namespace llm::jinja {
namespace {

const std::string& str_arg(const Value* v, int line, const char* what) {
  if (!v || v->kind != Value::Str) fail(line, std::string(what) + " expects a string argument");
  return v->s;
}

Value replace(const std::string& s, const std::string& from, const std::string& to, int line) {
  if (from.empty()) fail(line, "replace() with an empty pattern is not supported");
  std::string out;
  size_t p = 0;
  for (size_t f; (f = s.find(from, p)) != std::string::npos; p = f + from.size()) {
    out.append(s, p, f - p).append(to);
    if (out.size() > kMaxOutput) fail(line, "string exceeds 16 MiB");
  }
  return Value::str(out + s.substr(p));
}

int64_t length(const Value& v, int line) {
  switch (v.kind) {
    case Value::Str:
      return static_cast<int64_t>(char_starts(v.s).size());
    case Value::ListV:
      return static_cast<int64_t>(v.list->size());
    case Value::DictV:
      return static_cast<int64_t>(v.dict->size());
    case Value::Undefined:
      return 0;
    default:
      fail(line, std::string("a ") + kind_name(v) + " has no length");
  }
}

}  // namespace

Value call_function(const std::string& name, const Args& a, int line) {
  if (name == "raise_exception")
    throw Error("chat template raised an exception: " +
                (a.pos.empty() ? std::string() : to_str(a.pos[0])));
  if (name == "namespace") {
    Value ns = Value::new_dict();
    ns.b = true;
    for (const auto& [k, v] : a.kw) ns.set(k, v);
    return ns;
  }
  fail(line, "unknown function '" + name + "'");
}

Value call_method(const Value& obj, const std::string& m, const Args& a, int line) {
  if (obj.kind == Value::Str) {
    const std::string* chars = a.pos.empty() || a.pos[0].kind == Value::None
                                   ? nullptr
                                   : &str_arg(&a.pos[0], line, m.c_str());
    if (m == "strip") return Value::str(strip(obj.s, true, true, chars));
    if (m == "lstrip") return Value::str(strip(obj.s, true, false, chars));
    if (m == "rstrip") return Value::str(strip(obj.s, false, true, chars));
    if (m == "upper" || m == "lower") {
      std::string s = obj.s;
      for (char& c : s)
        c = static_cast<char>(m == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                           : std::tolower(static_cast<unsigned char>(c)));
      return Value::str(std::move(s));
    }
    if (m == "startswith")
      return Value::boolean(obj.s.starts_with(str_arg(a.get(0, "prefix"), line, "startswith")));
    if (m == "endswith")
      return Value::boolean(obj.s.ends_with(str_arg(a.get(0, "suffix"), line, "endswith")));
    if (m == "replace")
      return replace(obj.s, str_arg(a.get(0, "old"), line, "replace"),
                     str_arg(a.get(1, "new"), line, "replace"), line);
  } else if (obj.kind == Value::DictV) {
    if (m == "get") {
      const Value* d = obj.get(str_arg(a.get(0, "key"), line, "get"));
      const Value* fallback = a.get(1, "default");
      return d ? *d : fallback ? *fallback : Value::none();
    }
    if (m == "keys" || m == "values" || m == "items") {
      Value l = Value::new_list();
      for (const auto& [k, v] : *obj.dict) {
        if (m == "keys")
          l.list->push_back(Value::str(k));
        else if (m == "values")
          l.list->push_back(v);
        else {
          Value pair = Value::new_list();
          *pair.list = {Value::str(k), v};
          l.list->push_back(pair);
        }
      }
      return l;
    }
  }
  fail(line, std::string("unknown method '") + m + "' of a " + kind_name(obj));
}

Value apply_filter(const std::string& f, const Value& v, const Args& a, int line) {
  if (f == "trim") return Value::str(strip(to_str(v), true, true));
  if (f == "length" || f == "count") return Value::integer(length(v, line));
  if (f == "upper" || f == "lower" || f == "capitalize") {
    std::string s = to_str(v);
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      const bool up = f == "upper" || (f == "capitalize" && i == 0);
      s[i] = static_cast<char>(up ? std::toupper(c) : std::tolower(c));
    }
    return Value::str(std::move(s));
  }
  if (f == "string") return Value::str(to_str(v));
  if (f == "safe") return v;
  if (f == "default" || f == "d") {
    const Value* boolean = a.get(1, "boolean");
    const bool use = v.kind == Value::Undefined || (boolean && truthy(*boolean) && !truthy(v));
    const Value* d = a.get(0, "default_value");
    return use ? (d ? *d : Value::str("")) : v;
  }
  if (f == "first" || f == "last") {
    if (v.kind == Value::ListV) {
      if (v.list->empty()) return Value{};
      return f == "first" ? v.list->front() : v.list->back();
    }
    if (v.kind == Value::Str) {
      Value idx = Value::integer(f == "first" ? 0 : -1);
      return get_item(v, idx, line);
    }
  }
  if (f == "join") {
    const Value* sep = a.get(0, "d");
    if (v.kind != Value::ListV) fail(line, "join expects a list");
    std::string out;
    for (size_t i = 0; i < v.list->size(); ++i) {
      if (i && sep) out += to_str(*sep);
      out += to_str((*v.list)[i]);
      if (out.size() > kMaxOutput) fail(line, "string exceeds 16 MiB");
    }
    return Value::str(std::move(out));
  }
  if (f == "replace")
    return replace(to_str(v), str_arg(a.get(0, "old"), line, "replace"),
                   str_arg(a.get(1, "new"), line, "replace"), line);
  fail(line, "unknown filter '" + f +
                 "' (supported: trim, length, count, upper, lower, capitalize, string, safe, "
                 "default, first, last, join, replace)");
}

bool apply_test(const std::string& t, const Value& v, int line) {
  if (t == "defined") return v.kind != Value::Undefined;
  if (t == "undefined") return v.kind == Value::Undefined;
  if (t == "none") return v.kind == Value::None;
  if (t == "string") return v.kind == Value::Str;
  if (t == "number" || t == "integer") return v.kind == Value::Int;
  if (t == "boolean") return v.kind == Value::Bool;
  if (t == "true") return v.kind == Value::Bool && v.b;
  if (t == "false") return v.kind == Value::Bool && !v.b;
  if (t == "mapping") return v.kind == Value::DictV;
  if (t == "sequence" || t == "iterable")
    return v.kind == Value::ListV || v.kind == Value::Str || v.kind == Value::DictV;
  if (t == "odd" || t == "even") {
    if (!is_number(v)) fail(line, "'" + t + "' test needs a number");
    return (num(v) % 2 != 0) == (t == "odd");
  }
  fail(line, "unknown test '" + t + "'");
}

}  // namespace llm::jinja
