// A Hugging Face tokenizer.json with a BPE model. Two shapes are understood:
//   - byte-level: pre_tokenizer ByteLevel, possibly after Digits(individual_digits) (GPT-2,
//     SmolLM2), mapped onto the "gpt-2" / "smollm" pre-tokenizers;
//   - SentencePiece-style: normalizer Prepend("▁") + Replace(" ", "▁"), or pre_tokenizer
//     Metaspace without splitting (Llama-2), with byte_fallback.
// Anything else (WordPiece, Unigram, Split regexes, NFKC...) is refused with the field named.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/config/error.h"
#include "llm/tokenizer/byte_level.h"
#include "llm/tokenizer/sentencepiece.h"

namespace llm {

namespace {

using json = nlohmann::json;

class JsonReader {
 public:
  explicit JsonReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(path_ + ": " + field + " " + what);
  }
  // obj[key], which must exist and have type `t`.
  const json& get(const json& obj, const std::string& field, const char* key,
                  json::value_t t) const {
    if (!obj.is_object())
      fail(field, "is " + std::string(obj.type_name()) + ", expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(field + "." + key, "is missing");
    check(*it, field + "." + key, t);
    return *it;
  }
  void check(const json& v, const std::string& field, json::value_t t) const {
    const bool ok = t == json::value_t::number_integer ? v.is_number_integer() : v.type() == t;
    if (!ok) fail(field, "is " + std::string(v.type_name()) + ", expected " + json(t).type_name());
  }
  // An optional member: nullptr when absent or null.
  static const json* opt(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the normalizer and pre_tokenizer sections say about the tokenizer's family.
struct Shape {
  bool byte_level = false, digits = false, add_prefix_space = false;
  bool metaspace = false, space_prefix = false;
};

void scan_pre(const JsonReader& r, const json& p, const std::string& field, Shape& s) {
  const auto type = r.get(p, field, "type", json::value_t::string).get<std::string>();
  if (type == "Sequence") {
    const json& list = r.get(p, field, "pretokenizers", json::value_t::array);
    for (size_t i = 0; i < list.size(); ++i)
      scan_pre(r, list[i], field + ".pretokenizers[" + std::to_string(i) + "]", s);
  } else if (type == "ByteLevel") {
    if (const json* v = JsonReader::opt(p, "use_regex"); v && *v == false)
      r.fail(field, "ByteLevel without use_regex is not supported");
    const json* v = JsonReader::opt(p, "add_prefix_space");
    s.byte_level = true;
    s.add_prefix_space = v && *v == true;
  } else if (type == "Digits") {
    const json* v = JsonReader::opt(p, "individual_digits");
    if (!v || *v != true) r.fail(field, "Digits without individual_digits is not supported");
    s.digits = true;
  } else if (type == "Metaspace") {
    if (const json* v = JsonReader::opt(p, "split"); v && *v == true)
      r.fail(field, "Metaspace with split = true is not supported");
    const json* scheme = JsonReader::opt(p, "prepend_scheme");
    s.metaspace = true;
    s.space_prefix = !scheme || *scheme != "never";
  } else {
    r.fail(field + ".type", "'" + type + "' is not supported (ByteLevel, Digits, Metaspace)");
  }
}

void scan_normalizer(const JsonReader& r, const json& n, const std::string& field, Shape& s) {
  const auto type = r.get(n, field, "type", json::value_t::string).get<std::string>();
  if (type == "Sequence") {
    const json& list = r.get(n, field, "normalizers", json::value_t::array);
    for (size_t i = 0; i < list.size(); ++i)
      scan_normalizer(r, list[i], field + ".normalizers[" + std::to_string(i) + "]", s);
  } else if (type == "Prepend" && r.get(n, field, "prepend", json::value_t::string) == "▁") {
    s.space_prefix = true;
  } else if (type == "Replace" && JsonReader::opt(n, "pattern") &&
             JsonReader::opt(n["pattern"], "String") && n["pattern"]["String"] == " " &&
             n.value("content", "") == "▁") {
    s.metaspace = true;
  } else {
    r.fail(field, "'" + type + "' is not supported (only Prepend('▁') and Replace(' ', '▁'))");
  }
}

// "bos_token": "<s>" or {"content": "<s>", ...} in tokenizer_config.json.
std::optional<std::string> config_token(const json& config, const char* key) {
  const json* v = JsonReader::opt(config, key);
  if (v && v->is_string()) return v->get<std::string>();
  if (v && v->is_object() && v->contains("content") && (*v)["content"].is_string())
    return (*v)["content"].get<std::string>();
  return std::nullopt;
}

json parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(path + ": is not valid JSON");
  return j;
}

}  // namespace

namespace {

std::unique_ptr<Tokenizer> load(const JsonReader& r, const json& root) {
  const json& model = r.get(root, "model", "model", json::value_t::object);
  if (const json* t = JsonReader::opt(model, "type"); t && *t != "BPE")
    r.fail("model.type", "is " + t->dump() + "; only BPE models are supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const json* v = JsonReader::opt(model, key); v && *v != "")
      r.fail(std::string("model.") + key, "is not supported");

  // Vocabulary: model.vocab, then added_tokens (which may add ids or mark existing ones).
  Vocab v;
  v.source = r.path();
  const json& vocab = r.get(model, "model", "vocab", json::value_t::object);
  std::vector<std::pair<int64_t, std::string>> entries;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    r.check(it.value(), "model.vocab['" + it.key() + "']", json::value_t::number_integer);
    entries.emplace_back(it.value().get<int64_t>(), it.key());
  }
  const json* added = JsonReader::opt(root, "added_tokens");
  if (added) r.check(*added, "added_tokens", json::value_t::array);
  for (size_t i = 0; added && i < added->size(); ++i) {
    const std::string f = "added_tokens[" + std::to_string(i) + "]";
    const json& a = (*added)[i];
    entries.emplace_back(r.get(a, f, "id", json::value_t::number_integer).get<int64_t>(),
                         r.get(a, f, "content", json::value_t::string).get<std::string>());
  }
  int64_t n = 0;
  for (const auto& e : entries) {
    if (e.first < 0 || e.first >= INT32_MAX)
      r.fail("token '" + e.second + "'", "has id " + std::to_string(e.first));
    n = std::max(n, e.first + 1);
  }
  v.pieces.resize(static_cast<size_t>(n));
  std::vector<bool> seen(static_cast<size_t>(n));
  for (const auto& [id, piece] : entries) {
    v.pieces[id] = piece;
    seen[id] = true;
  }
  for (int64_t id = 0; id < n; ++id)
    if (!seen[id]) r.fail("model.vocab", "has no token with id " + std::to_string(id));

  Shape shape;
  if (const json* p = JsonReader::opt(root, "pre_tokenizer"))
    scan_pre(r, *p, "pre_tokenizer", shape);
  if (const json* p = JsonReader::opt(root, "normalizer"))
    scan_normalizer(r, *p, "normalizer", shape);
  if (shape.byte_level == shape.metaspace)
    r.fail("pre_tokenizer", shape.byte_level ? "mixes ByteLevel and Metaspace"
                                             : "is neither ByteLevel nor Metaspace-like "
                                               "(cannot tell the BPE family)");

  v.types.assign(v.pieces.size(), TokenType::Normal);
  v.strip.assign(v.pieces.size(), 0);
  const json* fallback = JsonReader::opt(model, "byte_fallback");
  if (shape.metaspace && fallback && *fallback == true)
    for (size_t i = 0; i < v.pieces.size(); ++i) {
      const std::string& p = v.pieces[i];
      if (p.size() == 6 && p.starts_with("<0x") && p.back() == '>') v.types[i] = TokenType::Byte;
    }
  for (size_t i = 0; added && i < added->size(); ++i) {
    const json& a = (*added)[i];
    const auto id = a["id"].get<size_t>();
    v.types[id] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
    v.strip[id] = (a.value("lstrip", false) ? 1 : 0) | (a.value("rstrip", false) ? 2 : 0);
  }
  v.finalize();  // validates and builds the index used below

  if (const json* unk = JsonReader::opt(model, "unk_token")) {
    r.check(*unk, "model.unk_token", json::value_t::string);
    v.unk = v.find_or(unk->get<std::string>(), -1);
    if (v.unk < 0) r.fail("model.unk_token", "names a token that is not in the vocabulary");
    v.types[v.unk] = TokenType::Unknown;
  }
  // BOS: what the post-processor's template puts first (Llama: "<s>" $A).
  if (const json* pp = JsonReader::opt(root, "post_processor");
      pp && pp->value("type", "") == "TemplateProcessing") {
    const json& first = r.get(*pp, "post_processor", "single", json::value_t::array).at(0);
    if (const json* special = JsonReader::opt(first, "SpecialToken")) {
      const std::string name = special->value("id", "");
      v.bos = v.find_or(name, -1);
      if (v.bos < 0) r.fail("post_processor.single[0]", "names unknown token '" + name + "'");
      v.add_bos = true;
    }
  }
  // BOS/EOS names from tokenizer_config.json beside the file, when there is one.
  const auto config_path = std::filesystem::path(r.path()).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const json config = parse_file(config_path.string());
    if (auto b = config_token(config, "bos_token"); b && v.bos < 0) v.bos = v.find_or(*b, -1);
    if (auto e = config_token(config, "eos_token")) v.eos = v.find_or(*e, -1);
  }
  if (v.eos < 0) v.eos = v.find_or(shape.metaspace ? "</s>" : "<|endoftext|>", -1);

  // Merges: "a b" strings or ["a", "b"] pairs, best first.
  const json& merges = r.get(model, "model", "merges", json::value_t::array);
  MergeTable table;
  table.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string left, right;
    if (m.is_string()) {
      const auto s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos)
        r.fail(field, "('" + s + "') is not two tokens separated by a space");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      r.fail(field, "is " + m.dump() + ", expected \"a b\" or [\"a\", \"b\"]");
    }
    const auto l = v.find(left), rt = v.find(right), res = v.find(left + right);
    if (!l || !rt || !res)
      r.fail(field, "names a token that is not in the vocabulary: '" +
                        (!l    ? left
                         : !rt ? right
                               : left + right) +
                        "'");
    table.add(*l, *rt, *res);
  }

  v.finalize();  // again, with the special ids set
  if (shape.byte_level) {
    PreTokenizer pre = PreTokenizer::by_name(shape.digits ? "smollm" : "gpt-2");
    return std::make_unique<ByteLevelTokenizer>(std::move(v), std::move(table), std::move(pre),
                                                shape.add_prefix_space);
  }
  return std::make_unique<SentencePieceTokenizer>(std::move(v), shape.space_prefix,
                                                  std::move(table));
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_hf_json(const std::string& path) {
  const JsonReader r(path);
  const json root = parse_file(path);
  try {
    return load(r, root);
  } catch (const json::exception& e) {  // a type the checks above did not anticipate
    throw Error(path + ": unexpected structure: " + e.what());
  }
}

}  // namespace llm
