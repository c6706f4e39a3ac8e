// `llm quantize` against llama.cpp's quantizer, block for block, on the default model.
//
// tests/golden/smollm2-{q8_0,q4_0}.llamacpp.json list every tensor llama_model_quantize wrote
// when it re-quantized the default Q4_1 file (allow_requantize, no imatrix): name, type, shape
// and the sha256 of its bytes. Our quantizer must choose the same type for every tensor and
// write the same bytes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/loading/gguf_file.h"
#include "llm/loading/quantize_model.h"
#include "llm/testing/sha256.h"
#include "llm/testing/testing.h"

using namespace llm;
namespace t = llm::testing;
using nlohmann::json;

namespace {

TEST(Sha256, KnownDigests) {  // FIPS 180-4's examples: one block, two blocks, empty
  EXPECT_EQ(t::sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(t::sha256_hex(two.data(), two.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(t::sha256_hex("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

class Requantize : public ::testing::TestWithParam<const char*> {};

TEST_P(Requantize, EveryTensorIsByteIdenticalToLlamaCpp) {
  const std::string model = t::default_model_path();
  if (!t::file_exists(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string type = GetParam();
  const json golden = json::parse(
      t::read_file(t::source_dir() + "/tests/golden/smollm2-" + type + ".llamacpp.json"));
  const std::string out =
      (std::filesystem::temp_directory_path() /
       ("llmcpp-requantize-" + type + "-" + std::to_string(::getpid()) + ".gguf"))
          .string();
  const Checkpoint source = open_checkpoint(model);
  quantize_model(source, *dtype_from_name(type), out);
  const GgufFile ours = GgufFile::open(out);
  std::filesystem::remove(out);  // the mapping keeps the bytes readable

  ASSERT_EQ(ours.tensor_infos().size(), golden["tensors"].size());
  int same = 0, requantized = 0;
  for (const json& g : golden["tensors"]) {
    const std::string name = g["name"];
    const GgufTensorInfo* info = ours.find(name);
    ASSERT_NE(info, nullptr) << name << " is missing from our file";
    EXPECT_EQ(dtype_name(info->dtype), g["type"].get<std::string>()) << name;
    auto shape = g["shape"].get<std::vector<int64_t>>();  // GGUF order: innermost first
    std::reverse(shape.begin(), shape.end());
    EXPECT_EQ(info->shape, Shape::of(shape)) << name;
    const Tensor tensor = ours.tensor(*info);
    const std::string digest = t::sha256_hex(tensor.data(), tensor.nbytes());
    EXPECT_EQ(digest, g["sha256"].get<std::string>())
        << name << " (" << g["type"] << ") bytes differ";
    same += digest == g["sha256"].get<std::string>();
    requantized += info->dtype != source.tensors.at(name).dtype();
  }
  std::printf("%s: %d of %zu tensors byte-identical to llama.cpp's (we requantized %d)\n",
              type.c_str(), same, golden["tensors"].size(), requantized);
}

INSTANTIATE_TEST_SUITE_P(DefaultModel, Requantize, ::testing::Values("q8_0", "q4_0"));

}  // namespace
