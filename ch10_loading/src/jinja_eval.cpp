// Jinja evaluator: syntax tree + variables -> text. Scopes follow Jinja: each loop iteration
// is a scope, so a `set` inside a loop body does not leak out of it; `if` makes no scope.
#include <unordered_set>

#include "jinja.h"
#include "llm/config/error.h"

namespace llm::jinja {
namespace {

constexpr uint64_t kMaxSteps = 5'000'000;  // bounds nested loops in a hostile template

class Renderer {
 public:
  explicit Renderer(const Dict& globals) { scopes_.push_back(globals); }

  void exec(const Node& n) {
    tick(n);
    switch (n.kind) {
      case Node::Block:
        for (const auto& k : n.kids) exec(*k);
        return;
      case Node::Text:
        return emit(n.str);
      case Node::Output:
        return emit(to_str(eval(*n.kids[0])));
      case Node::If:
        for (size_t i = 0; i + 1 < n.kids.size(); i += 2)
          if (truthy(eval(*n.kids[i]))) return exec(*n.kids[i + 1]);
        if (n.kids.size() % 2 == 1) exec(*n.kids.back());
        return;
      case Node::For:
        return exec_for(n);
      case Node::Set:
        return exec_set(n);
      default:
        fail(n.line, "internal: not a statement");
    }
  }

  std::string out;

 private:
  void tick(const Node& n) {
    if (++steps_ > kMaxSteps) fail(n.line, "template needs too much work to render (loop bomb?)");
  }
  void emit(const std::string& s) {
    out += s;
    if (out.size() > kMaxOutput) fail(0, "output exceeds 16 MiB");
  }

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      for (const auto& [k, v] : *it)
        if (k == name) return v;
    return Value{};
  }
  void assign(const std::string& name, Value v) {
    for (auto& [k, x] : scopes_.back())
      if (k == name) {
        x = std::move(v);
        return;
      }
    scopes_.back().emplace_back(name, std::move(v));
  }

  void exec_for(const Node& n) {
    const Value seq = eval(*n.kids[0]);
    List built;  // dict keys or characters; a list is iterated in place (nothing mutates lists)
    if (seq.kind == Value::DictV) {
      for (const auto& [k, v] : *seq.dict) built.push_back(Value::str(k));
    } else if (seq.kind == Value::Str) {
      const auto starts = char_starts(seq.s);
      for (size_t i = 0; i < starts.size(); ++i) {
        const size_t end = i + 1 < starts.size() ? starts[i + 1] : seq.s.size();
        built.push_back(Value::str(seq.s.substr(starts[i], end - starts[i])));
      }
    } else if (seq.kind != Value::ListV && seq.kind != Value::Undefined) {
      fail(n.line, std::string("cannot loop over a value of type ") + kind_name(seq));
    }
    const List& items = seq.kind == Value::ListV ? *seq.list : built;
    if (items.empty()) {
      if (n.kids.size() > 2) exec(*n.kids[2]);
      return;
    }
    const auto len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      steps_ += 8;  // an iteration costs more than a node: count it so
      tick(n);
      Value loop = Value::new_dict();
      loop.dict->reserve(9);
      loop.set("index", Value::integer(i + 1));
      loop.set("index0", Value::integer(i));
      loop.set("revindex", Value::integer(len - i));
      loop.set("revindex0", Value::integer(len - i - 1));
      loop.set("first", Value::boolean(i == 0));
      loop.set("last", Value::boolean(i == len - 1));
      loop.set("length", Value::integer(len));
      if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
      if (i + 1 < len) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
      scopes_.push_back(Dict{{n.str, items[static_cast<size_t>(i)]}, {"loop", std::move(loop)}});
      exec(*n.kids[1]);
      scopes_.pop_back();
    }
  }

  void exec_set(const Node& n) {
    Value v = eval(*n.kids[0]);
    if (n.str2.empty()) return assign(n.str, std::move(v));
    Value ns = lookup(n.str);
    // Only namespace() objects accept attribute assignment (jinja2's rule).
    if (ns.kind != Value::DictV || !ns.b)
      fail(n.line, "cannot assign attribute '" + n.str2 + "' of '" + n.str + "' (not a namespace)");
    // Values share lists and dicts by reference, so `set ns.a = ns` (or a list holding ns)
    // would make a cycle no reference count ever frees: refuse it (found by fuzzing).
    if (reaches(v, ns.dict.get()))
      fail(n.line, "cannot store namespace '" + n.str + "' inside itself");
    ns.set(n.str2, std::move(v));
  }

  // Whether `v` contains `target`, looking through lists and dicts (each visited once).
  static bool reaches(const Value& v, const Dict* target) {
    std::vector<const Value*> todo = {&v};
    std::unordered_set<const void*> seen;
    while (!todo.empty()) {
      const Value* x = todo.back();
      todo.pop_back();
      if (x->kind == Value::DictV) {
        if (x->dict.get() == target) return true;
        if (!seen.insert(x->dict.get()).second) continue;
        for (const auto& [k, e] : *x->dict) todo.push_back(&e);
      } else if (x->kind == Value::ListV) {
        if (!seen.insert(x->list.get()).second) continue;
        for (const Value& e : *x->list) todo.push_back(&e);
      }
    }
    return false;
  }

  // Arguments from kids[first..]: positional first, then the keyword ones named in n.kw.
  Args args(const Node& n, size_t first) {
    Args a;
    const size_t n_kw = n.kw.size();
    for (size_t i = first; i < n.kids.size(); ++i) {
      Value v = eval(*n.kids[i]);
      if (i + n_kw >= n.kids.size())
        a.kw.emplace_back(n.kw[i + n_kw - n.kids.size()], std::move(v));
      else
        a.pos.push_back(std::move(v));
    }
    return a;
  }

  Value call(const Node& n) {
    const Node& callee = *n.kids[0];
    if (callee.kind == Node::Name) return call_function(callee.str, args(n, 1), n.line);
    if (callee.kind != Node::GetAttr) fail(n.line, "this value is not callable");
    const Value obj = eval(*callee.kids[0]);
    return call_method(obj, callee.str, args(n, 1), n.line);
  }

 public:
  Value eval(const Node& n) {
    tick(n);
    switch (n.kind) {
      case Node::Literal:
        return n.value;
      case Node::Name:
        return lookup(n.str);
      case Node::ListLit: {
        Value l = Value::new_list();
        for (const auto& k : n.kids) l.list->push_back(eval(*k));
        return l;
      }
      case Node::GetAttr:
        return get_attr(eval(*n.kids[0]), n.str, n.line);
      case Node::GetItem:
        return get_item(eval(*n.kids[0]), eval(*n.kids[1]), n.line);
      case Node::Slice:
        return slice(eval(*n.kids[0]), eval(*n.kids[1]), eval(*n.kids[2]), n.line);
      case Node::Not:
        return Value::boolean(!truthy(eval(*n.kids[0])));
      case Node::Neg: {
        const Value v = eval(*n.kids[0]);
        if (!is_number(v)) fail(n.line, std::string("cannot negate a ") + kind_name(v));
        return binary("-", Value::integer(0), v, n.line);
      }
      case Node::And: {
        Value a = eval(*n.kids[0]);
        return truthy(a) ? eval(*n.kids[1]) : a;
      }
      case Node::Or: {
        Value a = eval(*n.kids[0]);
        return truthy(a) ? a : eval(*n.kids[1]);
      }
      case Node::CondExpr:
        if (truthy(eval(*n.kids[1]))) return eval(*n.kids[0]);
        return n.kids.size() > 2 ? eval(*n.kids[2]) : Value{};
      case Node::Binary:
        return binary(n.str, eval(*n.kids[0]), eval(*n.kids[1]), n.line);
      case Node::Compare: {
        Value left = eval(*n.kids[0]);
        for (size_t i = 0; i < n.kw.size(); ++i) {  // a < b < c chains, as in Python
          Value right = eval(*n.kids[i + 1]);
          if (!compare(n.kw[i], left, right, n.line)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Node::Call:
        return call(n);
      case Node::Filter: {
        const Value v = eval(*n.kids[0]);
        return apply_filter(n.str, v, args(n, 1), n.line);
      }
      case Node::Test:
        return Value::boolean(apply_test(n.str, eval(*n.kids[0]), n.line) != n.flag);
      default:
        fail(n.line, "internal: not an expression");
    }
  }

 private:
  std::vector<Dict> scopes_;
  uint64_t steps_ = 0;
};

}  // namespace

std::string render(const Node& root, const Dict& globals) {
  Renderer r(globals);
  r.exec(root);
  return std::move(r.out);
}

}  // namespace llm::jinja
