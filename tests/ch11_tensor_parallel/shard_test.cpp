// Chapter 11's sharding: which heads, FFN rows and vocabulary rows each rank holds, the
// refusals (with the head counts), and that the shards put back together are the model.
#include <gtest/gtest.h>

#include <cstring>

#include "llm/config/error.h"
#include "llm/parallel/shard.h"
#include "llm/testing/testing.h"
#include "llm/testing/tiny_llama.h"

using namespace llm;
using namespace llm::parallel;
namespace t = llm::testing;

namespace {

Model tiny() {
  static const TensorMap weights = t::random_llama_weights(t::tiny_llama_config(), 11);
  return Model::from_tensors(t::tiny_llama_config(), weights, "tiny");
}

TEST(Shard, SplitsHeadsFfnAndVocabularyAndTheSlicesTileTheModel) {
  const Model full = tiny();  // 6 heads / 2 KV heads of 8, hidden 96, vocabulary 67
  const ModelConfig& c = full.config;
  const int world = 2;
  int64_t vocab = 0;
  for (int r = 0; r < world; ++r) {
    const ShardPlan p = plan_shard(full, r, world);
    const Model s = shard_model(full, p);
    EXPECT_EQ(s.config.n_heads, 3);
    EXPECT_EQ(s.config.n_kv_heads, 1);
    EXPECT_EQ(s.config.hidden_dim, 48);
    EXPECT_EQ(s.config.vocab_size, 67);            // the whole vocabulary: token ids stay valid
    EXPECT_EQ(s.output.rows(), r == 0 ? 33 : 34);  // uneven: 67 = 33 + 34
    vocab += s.output.rows();
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& fw = full.layers[static_cast<size_t>(l)];
      const LayerWeights& sw = s.layers[static_cast<size_t>(l)];
      // Column-parallel: whole rows of the full matrix. Row-parallel: column slices.
      EXPECT_EQ(std::memcmp(sw.wq.data(), fw.wq.row(r * 3 * c.head_dim), sw.wq.nbytes()), 0);
      EXPECT_EQ(std::memcmp(sw.wk.data(), fw.wk.row(r * c.head_dim), sw.wk.nbytes()), 0);
      EXPECT_EQ(std::memcmp(sw.w_up.data(), fw.w_up.row(r * 48), sw.w_up.nbytes()), 0);
      for (int64_t row = 0; row < c.dim; ++row) {
        EXPECT_EQ(sw.w_down.as<float>()[row * 48 + 5],
                  fw.w_down.as<float>()[row * 96 + r * 48 + 5]);
        EXPECT_EQ(sw.wo.as<float>()[row * 24 + 7], fw.wo.as<float>()[row * 48 + r * 24 + 7]);
      }
    }
    EXPECT_LT(shard_bytes(s), full.weight_bytes());
  }
  EXPECT_EQ(vocab, c.vocab_size);
}

TEST(Shard, RefusesRankCountsThatDoNotDivideTheKvHeadsAndSaysWhichDo) {
  const Model full = tiny();  // 2 KV heads
  try {
    plan_shard(full, 0, 3);
    FAIL() << "3 ranks of 2 KV heads accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* want : {"3 ranks", "6 query heads", "2 KV heads", "use 1, 2 ranks"})
      EXPECT_NE(msg.find(want), std::string::npos) << want << " in: " << msg;
  }
  EXPECT_THROW(plan_shard(full, 2, 2), Error);
  EXPECT_THROW(plan_shard(full, 0, 0), Error);
}

}  // namespace
