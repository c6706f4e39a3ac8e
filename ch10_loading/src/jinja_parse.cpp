// Jinja parser: tokens -> syntax tree (see jinja.h for the node layout).
#include <algorithm>

#include "jinja.h"
#include "llm/config/error.h"

namespace llm::jinja {
namespace {

constexpr int kMaxDepth = 100;  // nesting of blocks and of expressions

NodePtr node(Node::Kind k, int line) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  n->line = line;
  return n;
}

// Recursive descent over the items, with Jinja's operator precedence (lowest first):
// conditional `a if c else b`, or, and, not, comparisons (==, !=, <, >, <=, >=, in, not in),
// + and -, ~, * / // %, unary -, then primaries with postfix .attr, [index], (call), | filter,
// `is` test.
class Parser {
 public:
  explicit Parser(std::vector<Item> items) : items_(std::move(items)) {}

  NodePtr parse_template() {
    std::string end;
    return parse_body({}, end);
  }

 private:
  // ---- statements ----
  NodePtr parse_body(const std::vector<std::string>& ends, std::string& found) {
    if (++depth_ > kMaxDepth) fail(line(), "blocks nested too deeply");
    auto block = node(Node::Block, line());
    while (at_ < items_.size()) {
      Item& it = items_[at_];
      if (it.type == Item::Text) {
        auto t = node(Node::Text, it.line);
        t->str = it.text;
        block->kids.push_back(std::move(t));
        ++at_;
        continue;
      }
      begin_tag(it);
      if (it.type == Item::Var) {
        auto out = node(Node::Output, it.line);
        out->kids.push_back(parse_expr());
        end_tag();
        block->kids.push_back(std::move(out));
        continue;
      }
      const Token& kw = peek();
      if (kw.type != Token::Name) fail(kw.line, "expected a statement name after '{%'");
      for (const std::string& e : ends)
        if (kw.text == e) {
          found = e;
          --depth_;
          return block;  // the caller consumes the closing tag
        }
      block->kids.push_back(parse_statement());
    }
    if (!ends.empty()) fail(line(), "missing '{% " + ends.back() + " %}' at end of template");
    --depth_;
    return block;
  }

  NodePtr parse_statement() {
    const Token kw = next();
    if (kw.text == "if") return parse_if(kw.line);
    if (kw.text == "for") return parse_for(kw.line);
    if (kw.text == "set") return parse_set(kw.line);
    fail(kw.line, "unsupported tag '{% " + kw.text + " %}'");
  }

  NodePtr parse_if(int line) {
    auto n = node(Node::If, line);
    n->kids.push_back(parse_expr());
    end_tag();
    for (;;) {
      std::string found;
      n->kids.push_back(parse_body({"elif", "else", "endif"}, found));
      if (found != "elif") {
        close_tag();
        if (found == "else") {
          n->kids.push_back(parse_body({"endif"}, found));
          close_tag();
        }
        return n;
      }
      begin_tag(items_[at_]);
      next();
      n->kids.push_back(parse_expr());
      end_tag();
    }
  }

  NodePtr parse_for(int line) {
    auto n = node(Node::For, line);
    const Token var = next();
    if (var.type != Token::Name) fail(var.line, "expected a loop variable name");
    if (peek().text == ",") fail(var.line, "tuple unpacking in for loops is not supported");
    n->str = var.text;
    expect_name("in");
    n->kids.push_back(parse_or());  // no `x if c` here: `if` would start a loop filter
    if (peek().type == Token::Name && peek().text == "if")
      fail(peek().line, "loop filters (`for x in y if c`) are not supported");
    end_tag();
    std::string found;
    n->kids.push_back(parse_body({"else", "endfor"}, found));
    close_tag();
    if (found == "else") {
      n->kids.push_back(parse_body({"endfor"}, found));
      close_tag();
    }
    return n;
  }

  NodePtr parse_set(int line) {
    auto n = node(Node::Set, line);
    const Token target = next();
    if (target.type != Token::Name) fail(target.line, "expected a variable name after 'set'");
    n->str = target.text;
    if (peek().text == ".") {
      next();
      const Token attr = next();
      if (attr.type != Token::Name) fail(attr.line, "expected an attribute name");
      n->str2 = attr.text;
    }
    if (peek().text != "=")
      fail(peek().line, "block assignments and tuple targets are not supported; expected '='");
    next();
    n->kids.push_back(parse_expr());
    end_tag();
    return n;
  }

  // ---- token cursor within the current tag ----
  void begin_tag(const Item& it) {
    toks_ = &it.tokens;
    tok_ = 0;
    tag_line_ = it.line;
  }
  void close_tag() {  // a tag that is only its keyword: {% else %}, {% endif %}, ...
    begin_tag(items_[at_]);
    next();
    end_tag();
  }
  void end_tag() {
    if (tok_ < toks_->size())
      fail(peek().line, "unexpected '" + peek().text + "' before end of tag");
    ++at_;
  }
  const Token& peek() const {
    static const Token eof{};
    return tok_ < toks_->size() ? (*toks_)[tok_] : eof;
  }
  Token next() {
    if (tok_ >= toks_->size()) fail(tag_line_, "unexpected end of tag");
    return (*toks_)[tok_++];
  }
  bool accept_op(const char* op) {
    if (peek().type == Token::Op && peek().text == op) {
      ++tok_;
      return true;
    }
    return false;
  }
  bool at_name(const char* n) const { return peek().type == Token::Name && peek().text == n; }
  void expect_op(const char* op) {
    if (!accept_op(op))
      fail(peek().line ? peek().line : tag_line_, std::string("expected '") + op + "'");
  }
  void expect_name(const char* n) {
    if (!at_name(n))
      fail(peek().line ? peek().line : tag_line_, std::string("expected '") + n + "'");
    ++tok_;
  }
  int line() const {
    return at_ < items_.size() ? items_[at_].line : (items_.empty() ? 1 : items_.back().line);
  }

  struct DepthGuard {
    int& d;
    DepthGuard(int& depth, int line) : d(depth) {
      if (++d > kMaxDepth) fail(line, "expression nested too deeply");
    }
    ~DepthGuard() { --d; }
  };

  // ---- expressions ----
  NodePtr parse_expr() {
    DepthGuard g(depth_, tag_line_);
    NodePtr e = parse_or();
    if (!at_name("if")) return e;
    const int l = peek().line;
    ++tok_;
    auto n = node(Node::CondExpr, l);
    n->kids.push_back(std::move(e));  // value when true
    n->kids.push_back(parse_or());    // condition
    if (at_name("else")) {
      ++tok_;
      n->kids.push_back(parse_expr());
    }
    return n;
  }
  NodePtr binary(Node::Kind k, const std::string& op, NodePtr a, NodePtr b, int l) {
    auto n = node(k, l);
    n->str = op;
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return n;
  }
  NodePtr parse_or() {
    NodePtr a = parse_and();
    while (at_name("or")) {
      const int l = next().line;
      a = binary(Node::Or, "or", std::move(a), parse_and(), l);
    }
    return a;
  }
  NodePtr parse_and() {
    NodePtr a = parse_not();
    while (at_name("and")) {
      const int l = next().line;
      a = binary(Node::And, "and", std::move(a), parse_not(), l);
    }
    return a;
  }
  NodePtr parse_not() {
    if (at_name("not")) {
      DepthGuard g(depth_, tag_line_);
      auto n = node(Node::Not, next().line);
      n->kids.push_back(parse_not());
      return n;
    }
    return parse_compare();
  }
  NodePtr parse_compare() {
    NodePtr first = parse_math1();
    NodePtr cmp;
    for (;;) {
      std::string op;
      const Token& t = peek();
      if (t.type == Token::Op && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                  t.text == ">" || t.text == "<=" || t.text == ">=")) {
        op = t.text;
        ++tok_;
      } else if (at_name("in")) {
        op = "in";
        ++tok_;
      } else if (at_name("not") && tok_ + 1 < toks_->size() && (*toks_)[tok_ + 1].text == "in") {
        op = "not in";
        tok_ += 2;
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Node::Compare, t.line);
        cmp->kids.push_back(std::move(first));
      }
      cmp->kw.push_back(op);
      cmp->kids.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  // The binary levels between comparisons and unary minus: + -, then ~, then * / // %.
  NodePtr parse_math1(int level = 0) {
    static const std::vector<std::vector<std::string>> ops = {
        {"+", "-"}, {"~"}, {"*", "/", "//", "%"}};
    auto operand = [&] { return level < 2 ? parse_math1(level + 1) : parse_unary(true); };
    NodePtr a = operand();
    for (;;) {
      const Token& t = peek();
      const auto& lv = ops[static_cast<size_t>(level)];
      if (t.type != Token::Op || std::find(lv.begin(), lv.end(), t.text) == lv.end()) break;
      const Token op = next();
      a = binary(Node::Binary, op.text, std::move(a), operand(), op.line);
    }
    if (peek().type == Token::Op && peek().text == "**") fail(peek().line, "'**' is not supported");
    return a;
  }
  // Unary minus binds tighter than filters only on its operand: -x|f is f(-x), as in Jinja.
  NodePtr parse_unary(bool with_filters) {
    DepthGuard g(depth_, tag_line_);
    NodePtr n;
    if (peek().type == Token::Op && (peek().text == "-" || peek().text == "+")) {
      const Token op = next();
      n = parse_unary(false);
      if (op.text == "-") {
        auto neg = node(Node::Neg, op.line);
        neg->kids.push_back(std::move(n));
        n = std::move(neg);
      }
    } else {
      n = parse_postfix(parse_primary());
    }
    return with_filters ? parse_filters(std::move(n)) : std::move(n);
  }
  NodePtr parse_primary() {
    const Token t = next();
    if (t.type == Token::String) {
      std::string s = t.text;
      while (peek().type == Token::String) s += next().text;  // adjacent literals concatenate
      auto n = node(Node::Literal, t.line);
      n->value = Value::str(std::move(s));
      return n;
    }
    if (t.type == Token::Int) {
      auto n = node(Node::Literal, t.line);
      n->value = Value::integer(t.value);
      return n;
    }
    if (t.type == Token::Name) {
      auto n = node(Node::Literal, t.line);
      if (t.text == "true" || t.text == "True")
        n->value = Value::boolean(true);
      else if (t.text == "false" || t.text == "False")
        n->value = Value::boolean(false);
      else if (t.text == "none" || t.text == "None")
        n->value = Value::none();
      else {
        n->kind = Node::Name;
        n->str = t.text;
      }
      return n;
    }
    if (t.text == "(") {
      NodePtr e = parse_expr();
      if (peek().text == ",") fail(peek().line, "tuples are not supported");
      expect_op(")");
      return e;
    }
    if (t.text == "[") {
      auto n = node(Node::ListLit, t.line);
      while (!accept_op("]")) {
        n->kids.push_back(parse_expr());
        if (!accept_op(",")) {
          expect_op("]");
          break;
        }
      }
      return n;
    }
    if (t.text == "{") fail(t.line, "dict literals are not supported");
    fail(t.line, "unexpected '" + t.text + "' in expression");
  }
  NodePtr parse_postfix(NodePtr n) {
    for (;;) {
      const Token& t = peek();
      if (t.type != Token::Op) return n;
      if (t.text == ".") {
        ++tok_;
        const Token attr = next();
        if (attr.type != Token::Name) fail(attr.line, "expected an attribute name after '.'");
        auto a = node(Node::GetAttr, attr.line);
        a->str = attr.text;
        a->kids.push_back(std::move(n));
        n = std::move(a);
      } else if (t.text == "[") {
        n = parse_subscript(std::move(n));
      } else if (t.text == "(") {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }
  NodePtr parse_subscript(NodePtr obj) {
    const int l = next().line;  // '['
    auto none = [&] {
      auto x = node(Node::Literal, l);
      x->value = Value::none();
      return x;
    };
    NodePtr start = peek().text == ":" ? none() : parse_expr();
    if (!accept_op(":")) {
      expect_op("]");
      auto n = node(Node::GetItem, l);
      n->kids.push_back(std::move(obj));
      n->kids.push_back(std::move(start));
      return n;
    }
    NodePtr stop = peek().text == "]" ? none() : parse_expr();
    if (peek().text == ":") fail(l, "slice steps are not supported");
    expect_op("]");
    auto n = node(Node::Slice, l);
    n->kids.push_back(std::move(obj));
    n->kids.push_back(std::move(start));
    n->kids.push_back(std::move(stop));
    return n;
  }
  // Arguments: positional first, then `name=value`.
  void parse_args(Node& n) {
    while (!accept_op(")")) {
      if (peek().type == Token::Name && tok_ + 1 < toks_->size() &&
          (*toks_)[tok_ + 1].text == "=") {
        n.kw.push_back(next().text);
        next();
      } else if (!n.kw.empty()) {
        fail(peek().line, "positional argument after keyword argument");
      }
      n.kids.push_back(parse_expr());
      if (!accept_op(",")) {
        expect_op(")");
        break;
      }
    }
  }
  NodePtr parse_call(NodePtr callee) {
    auto n = node(Node::Call, next().line);  // '('
    n->kids.push_back(std::move(callee));
    parse_args(*n);
    return n;
  }
  NodePtr parse_filters(NodePtr n) {
    for (;;) {
      if (accept_op("|")) {
        const Token name = next();
        if (name.type != Token::Name) fail(name.line, "expected a filter name after '|'");
        auto f = node(Node::Filter, name.line);
        f->str = name.text;
        f->kids.push_back(std::move(n));
        if (accept_op("(")) parse_args(*f);
        n = std::move(f);
      } else if (at_name("is")) {
        const int l = next().line;
        auto t = node(Node::Test, l);
        if (at_name("not")) {
          ++tok_;
          t->flag = true;
        }
        const Token name = next();
        if (name.type != Token::Name) fail(name.line, "expected a test name after 'is'");
        t->str = name.text;
        t->kids.push_back(std::move(n));
        n = std::move(t);
      } else {
        return n;
      }
    }
  }

  std::vector<Item> items_;
  size_t at_ = 0;
  const std::vector<Token>* toks_ = nullptr;
  size_t tok_ = 0;
  int tag_line_ = 1;
  int depth_ = 0;
};

}  // namespace

NodePtr parse(const std::string& source, const ParseOptions& options) {
  Parser parser(lex(source, options));
  return parser.parse_template();
}

}  // namespace llm::jinja
