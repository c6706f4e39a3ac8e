// Corrupt tokenizer files and bad ids: every one must throw llm::Error naming the file and the
// field, never crash (run under ASan/UBSan in the asan preset).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "llm/config/error.h"
#include "llm/testing/testing.h"
#include "llm/tokenizer/tokenizer.h"
#include "llm/tokenizer/unicode.h"

namespace llm {
namespace {

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = llm::testing::temp_path("ch02_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// Expects `f` to throw llm::Error whose message holds every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << *parts.begin();
  } catch (const Error& e) {
    for (const std::string& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message \"" << e.what() << "\" lacks \"" << p << "\"";
  }
}

// ---- GGUF ------------------------------------------------------------------------------------

class GgufBuilder {
 public:
  template <class T>
  static void pod(std::string& b, T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static void str(std::string& b, std::string_view s) {
    pod<uint64_t>(b, s.size());
    b.append(s);
  }
  GgufBuilder& string(const std::string& key, const std::string& v) {
    return entry(key, 8, [&](std::string& b) { str(b, v); });
  }
  GgufBuilder& u32(const std::string& key, uint32_t v) {
    return entry(key, 4, [&](std::string& b) { pod(b, v); });
  }
  GgufBuilder& strings(const std::string& key, const std::vector<std::string>& v) {
    return entry(key, 9, [&](std::string& b) {
      pod<uint32_t>(b, 8);
      pod<uint64_t>(b, v.size());
      for (const auto& s : v) str(b, s);
    });
  }
  template <class T>
  GgufBuilder& numbers(const std::string& key, uint32_t type, const std::vector<T>& v) {
    return entry(key, 9, [&](std::string& b) {
      pod<uint32_t>(b, type);
      pod<uint64_t>(b, v.size());
      for (T x : v) pod(b, x);
    });
  }
  // An array header claiming `count` strings, with nothing behind it.
  GgufBuilder& huge_string_array(const std::string& key, uint64_t count) {
    return entry(key, 9, [&](std::string& b) {
      pod<uint32_t>(b, 8);
      pod<uint64_t>(b, count);
    });
  }
  std::string bytes() const {
    std::string b = "GGUF";
    pod<uint32_t>(b, 3);
    pod<uint64_t>(b, 0);
    pod<uint64_t>(b, n_);
    return b + kv_;
  }

 private:
  GgufBuilder& entry(const std::string& key, uint32_t type,
                     const std::function<void(std::string&)>& value) {
    str(kv_, key);
    pod(kv_, type);
    value(kv_);
    ++n_;
    return *this;
  }
  std::string kv_;
  uint64_t n_ = 0;
};

// A small byte-level vocabulary: the 256 byte characters, then "ab" from the merge "a b".
std::vector<std::string> byte_tokens() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    utf8_append(s, byte_to_char(static_cast<uint8_t>(b)));
    t.push_back(s);
  }
  t.push_back("ab");
  return t;
}

GgufBuilder byte_level_gguf() {
  GgufBuilder g;
  g.string("tokenizer.ggml.model", "gpt2").string("tokenizer.ggml.pre", "gpt-2");
  return g;
}

TEST(BadGguf, AValidSmallFileLoads) {
  const auto path = write_temp("ok.gguf", byte_level_gguf()
                                              .strings("tokenizer.ggml.tokens", byte_tokens())
                                              .strings("tokenizer.ggml.merges", {"a b"})
                                              .bytes());
  const auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->encode("abc"), (std::vector<int32_t>{256, 'c'}));
}

TEST(BadGguf, ArraysOfDifferentLengths) {
  const auto n = byte_tokens().size();
  expect_error(
      [&] {
        load_tokenizer(
            write_temp("scores.gguf", byte_level_gguf()
                                          .strings("tokenizer.ggml.tokens", byte_tokens())
                                          .numbers<float>("tokenizer.ggml.scores", 6, {0, 1})
                                          .strings("tokenizer.ggml.merges", {})
                                          .bytes()));
      },
      {"scores.gguf", "tokenizer.ggml.scores", "2 entries", std::to_string(n)});
  expect_error(
      [&] {
        load_tokenizer(
            write_temp("types.gguf", byte_level_gguf()
                                         .strings("tokenizer.ggml.tokens", byte_tokens())
                                         .numbers<int32_t>("tokenizer.ggml.token_type", 5, {1})
                                         .strings("tokenizer.ggml.merges", {})
                                         .bytes()));
      },
      {"types.gguf", "tokenizer.ggml.token_type"});
  expect_error(
      [&] {
        std::vector<int32_t> types(n, 1);
        types[7] = 9;
        load_tokenizer(
            write_temp("type9.gguf", byte_level_gguf()
                                         .strings("tokenizer.ggml.tokens", byte_tokens())
                                         .numbers<int32_t>("tokenizer.ggml.token_type", 5, types)
                                         .strings("tokenizer.ggml.merges", {})
                                         .bytes()));
      },
      {"tokenizer.ggml.token_type[7]", "0..6"});
}

TEST(BadGguf, MergesAndIds) {
  expect_error(
      [&] {
        load_tokenizer(
            write_temp("merge.gguf", byte_level_gguf()
                                         .strings("tokenizer.ggml.tokens", byte_tokens())
                                         .strings("tokenizer.ggml.merges", {"a b", "a zz"})
                                         .bytes()));
      },
      {"merge.gguf", "tokenizer.ggml.merges[1]", "'zz'"});
  expect_error(
      [&] {
        load_tokenizer(
            write_temp("merge2.gguf", byte_level_gguf()
                                          .strings("tokenizer.ggml.tokens", byte_tokens())
                                          .strings("tokenizer.ggml.merges", {"ab"})
                                          .bytes()));
      },
      {"tokenizer.ggml.merges[0]", "two tokens"});
  expect_error(
      [&] {
        load_tokenizer(write_temp("bos.gguf", byte_level_gguf()
                                                  .strings("tokenizer.ggml.tokens", byte_tokens())
                                                  .strings("tokenizer.ggml.merges", {})
                                                  .u32("tokenizer.ggml.bos_token_id", 1000)
                                                  .bytes()));
      },
      {"bos.gguf", "tokenizer.ggml.bos_token_id", "1000"});
  expect_error(
      [&] {
        load_tokenizer(
            write_temp("nomerges.gguf",
                       byte_level_gguf().strings("tokenizer.ggml.tokens", byte_tokens()).bytes()));
      },
      {"nomerges.gguf", "tokenizer.ggml.merges"});
}

TEST(BadGguf, ModelPreAndMissingKeys) {
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "bert").strings("tokenizer.ggml.tokens", {"a"});
        load_tokenizer(write_temp("bert.gguf", g.bytes()));
      },
      {"bert.gguf", "tokenizer.ggml.model", "'bert'"});
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "gpt2").string("tokenizer.ggml.pre", "no-such-pre");
        g.strings("tokenizer.ggml.tokens", byte_tokens()).strings("tokenizer.ggml.merges", {});
        load_tokenizer(write_temp("pre.gguf", g.bytes()));
      },
      {"pre.gguf", "tokenizer.ggml.pre", "no-such-pre", "smollm"});
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "llama");
        load_tokenizer(write_temp("notokens.gguf", g.bytes()));
      },
      {"notokens.gguf", "tokenizer.ggml.tokens"});
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", {"<unk>"});
        load_tokenizer(write_temp("tiny.gguf", g.bytes()));
      },
      {"tiny.gguf", "BOS"});
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "llama")
            .strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"})
            .strings("tokenizer.ggml.token_type", {"x", "y", "z"});
        load_tokenizer(write_temp("typestr.gguf", g.bytes()));
      },
      {"typestr.gguf", "tokenizer.ggml.token_type"});
}

TEST(BadGguf, AbsurdCountsAndTruncation) {
  expect_error(
      [&] {
        GgufBuilder g;
        g.string("tokenizer.ggml.model", "llama")
            .huge_string_array("tokenizer.ggml.tokens", 1ull << 40);
        load_tokenizer(write_temp("huge.gguf", g.bytes()));
      },
      {"huge.gguf", "tokenizer.ggml.tokens"});
  std::string full = byte_level_gguf()
                         .strings("tokenizer.ggml.tokens", byte_tokens())
                         .strings("tokenizer.ggml.merges", {"a b"})
                         .bytes();
  for (size_t cut : {size_t{3}, size_t{30}, full.size() / 2, full.size() - 1})
    expect_error([&] { load_tokenizer(write_temp("cut.gguf", full.substr(0, cut))); },
                 {"cut.gguf"});
}

// ---- llama2.c tokenizer.bin ------------------------------------------------------------------

std::string llama2c(int32_t max_len, const std::vector<std::pair<int32_t, std::string>>& toks) {
  std::string b;
  GgufBuilder::pod(b, max_len);
  for (const auto& [len, bytes] : toks) {
    GgufBuilder::pod(b, 0.0f);
    GgufBuilder::pod(b, len);
    b += bytes;
  }
  return b;
}

TEST(BadLlama2c, LengthsAndTruncation) {
  const std::vector<std::pair<int32_t, std::string>> ok = {
      {5, "<unk>"}, {5, "\n<s>\n"}, {6, "\n</s>\n"}, {1, "a"}};
  EXPECT_EQ(load_tokenizer(write_temp("ok.bin", llama2c(6, ok)))->vocab_size(), 4);
  EXPECT_EQ(load_tokenizer(write_temp("ok.bin", llama2c(6, ok)), 3)->vocab_size(), 3);
  expect_error(
      [&] {
        load_tokenizer(write_temp("neg.bin", llama2c(6, {{5, "<unk>"}, {-3, ""}})));
      },
      {"neg.bin", "token 1 length", "-3"});
  expect_error(
      [&] {
        load_tokenizer(write_temp("long.bin", llama2c(6, {{100, "x"}})));
      },
      {"long.bin", "token 0 length", "100"});
  expect_error(
      [&] {
        load_tokenizer(write_temp("eof.bin", llama2c(200, {{100, "short"}})));
      },
      {"eof.bin", "token 0 bytes", "truncated"});
  expect_error([&] { load_tokenizer(write_temp("hdr.bin", std::string("\x05\x00", 2))); },
               {"hdr.bin", "max_token_length"});
  expect_error([&] { load_tokenizer(write_temp("zero.bin", llama2c(0, ok))); },
               {"zero.bin", "max_token_length"});
  expect_error([&] { load_tokenizer(write_temp("hint.bin", llama2c(6, ok)), 10); },
               {"hint.bin", "token 4"});
  expect_error(
      [&] {
        load_tokenizer(write_temp("two.bin", llama2c(6, {{1, "a"}, {1, "b"}})));
      },
      {"two.bin", "2 tokens"});
  std::string partial = llama2c(6, ok) + std::string("\x00\x00", 2);
  expect_error([&] { load_tokenizer(write_temp("partial.bin", partial)); },
               {"partial.bin", "token 4 score"});
  expect_error([&] { load_tokenizer("/nonexistent/tokenizer.bin"); },
               {"/nonexistent/tokenizer.bin"});
}

// ---- tokenizer.json --------------------------------------------------------------------------

std::string hf_json(const std::string& model, const std::string& extra = "") {
  return R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},)" + extra +
         R"( "model": )" + model + "}";
}

TEST(BadTokenizerJson, StructureAndTypes) {
  const std::string vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2})";
  const auto load = [](const std::string& name, const std::string& text) {
    load_tokenizer(write_temp(name, text));
  };
  EXPECT_NO_THROW(
      load("ok.json", hf_json(R"({"type": "BPE", )" + vocab + R"(, "merges": ["a b"]})")));
  expect_error([&] { load("syntax.json", "{\"model\": "); }, {"syntax.json", "not valid JSON"});
  expect_error([&] { load("nomodel.json", "{}"); }, {"nomodel.json", "model", "missing"});
  expect_error([&] { load("vocabarr.json", hf_json(R"({"vocab": [], "merges": []})")); },
               {"vocabarr.json", "model.vocab", "array", "expected object"});
  expect_error([&] { load("vocabid.json", hf_json(R"({"vocab": {"a": "0"}, "merges": []})")); },
               {"vocabid.json", "model.vocab['a']", "string"});
  expect_error([&] { load("nomerges.json", hf_json("{" + vocab + "}")); },
               {"nomerges.json", "model.merges", "missing"});
  expect_error([&] { load("mergeunk.json", hf_json("{" + vocab + R"(, "merges": ["a q"]})")); },
               {"mergeunk.json", "model.merges[0]", "'q'"});
  expect_error([&] { load("mergesp.json", hf_json("{" + vocab + R"(, "merges": ["ab"]})")); },
               {"mergesp.json", "model.merges[0]", "two tokens"});
  expect_error([&] { load("mergetype.json", hf_json("{" + vocab + R"(, "merges": [7]})")); },
               {"mergetype.json", "model.merges[0]"});
  expect_error([&] { load("wordpiece.json", hf_json(R"({"type": "WordPiece", )" + vocab + "}")); },
               {"wordpiece.json", "model.type", "WordPiece"});
  expect_error([&] { load("hole.json", hf_json(R"({"vocab": {"a": 0, "b": 2}, "merges": []})")); },
               {"hole.json", "id 1"});
  expect_error(
      [&] {
        load("unk.json", hf_json(R"({"unk_token": "<unk>", )" + vocab + R"(, "merges": []})"));
      },
      {"unk.json", "model.unk_token"});
  expect_error(
      [&] {
        load("added.json", hf_json("{" + vocab + R"(, "merges": []})",
                                   R"( "added_tokens": [{"content": "x"}],)"));
      },
      {"added.json", "added_tokens[0].id", "missing"});
  expect_error(
      [&] {
        load("split.json",
             R"({"pre_tokenizer": {"type": "Split"}, "model": {)" + vocab + R"(, "merges": []}})");
      },
      {"split.json", "pre_tokenizer.type", "Split"});
  expect_error([&] { load("nofamily.json", R"({"model": {)" + vocab + R"(, "merges": []}})"); },
               {"nofamily.json", "cannot tell"});
}

// ---- ids -------------------------------------------------------------------------------------

TEST(BadIds, DecodeRejectsIdsOutsideTheVocabulary) {
  const auto path = write_temp("ids.gguf", byte_level_gguf()
                                               .strings("tokenizer.ggml.tokens", byte_tokens())
                                               .strings("tokenizer.ggml.merges", {"a b"})
                                               .bytes());
  const auto tok = load_tokenizer(path);
  const std::vector<int32_t> bad[] = {{-1}, {257}, {1, 2, 1 << 30}};
  for (const auto& ids : bad) expect_error([&] { tok->decode(ids); }, {"outside the vocabulary"});
  expect_error([&] { tok->token_bytes(-7); }, {"-7"});
  expect_error([&] { tok->piece(257); }, {"257"});
  StreamDecoder s(*tok);
  expect_error([&] { s.push(999); }, {"999"});
}

}  // namespace
}  // namespace llm

TEST(ParseTokenIds, SeparatorsAndBadWords) {
  EXPECT_EQ(llm::parse_token_ids("1 2 3", "--ids"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(llm::parse_token_ids("[1, 2,3]\n", "--ids"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(llm::parse_token_ids("  ", "--ids").empty());
  for (const char* bad : {"1 x", "1.5", "-1", "2147483648", "7e2", "0x10"}) {
    try {
      llm::parse_token_ids(bad, "--ids");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const llm::Error& e) {
      EXPECT_NE(std::string(e.what()).find("--ids: '"), std::string::npos) << e.what();
    }
  }
}
