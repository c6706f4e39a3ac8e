// quantize_model: llama.cpp's per-tensor type choices, the RoPE row permutation for Hugging Face
// sources, and quantized files that load back within each format's error bound.
#include <gtest/gtest.h>

#include "llm/config/error.h"
#include "llm/loading/load_model.h"
#include "llm/loading/quantize_model.h"
#include "llm/loading/register.h"
#include "llm/transformer/transformer.h"
#include "model_files.h"

using namespace llm;
namespace t = llm::testing;
using llm::test10::temp_dir;
namespace fs = std::filesystem;

namespace {

Tensor f32(Shape s, uint64_t seed = 1) {
  return Tensor::from_f32(t::random_floats(static_cast<size_t>(s.numel()), seed), s);
}

DType choose(const std::string& name, const Tensor& x, DType target, bool tied = false) {
  return choose_tensor_type(name, x, target, tied);
}

// Logits for a few tokens of a prompt.
std::vector<float> logits(const Model& m, const std::vector<int32_t>& toks) {
  Registry r;
  register_loading(r);
  ScratchKvCache cache(m.config, 1, 32);
  Transformer tr(m, Kernels::select(r), cache);
  Batch b;
  for (size_t i = 0; i < toks.size(); ++i) b.add(toks[i], static_cast<int32_t>(i), 0, true);
  const auto out = tr.forward(b);
  return {out.begin(), out.end()};
}

}  // namespace

TEST(QuantizePolicy, FollowsLlamaQuantize) {
  const Tensor norm = f32({64}), mat = f32({128, 64}), wide = f32({128, 512}), odd = f32({64, 172});
  for (DType target : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    SCOPED_TRACE(std::string(dtype_name(target)));
    // Norms and 1-D tensors keep their type; so does anything not named *weight.
    EXPECT_EQ(choose("blk.0.attn_norm.weight", norm, target), DType::F32);
    EXPECT_EQ(choose("blk.0.ffn_norm.weight", f32({2, 64}), target), DType::F32);
    EXPECT_EQ(choose("blk.0.attn_q.bias", mat, target), DType::F32);
    // Matrices take the target; rows that do not fill 32-value blocks fall back to f16.
    EXPECT_EQ(choose("blk.0.attn_q.weight", mat, target), target);
    EXPECT_EQ(choose("blk.0.ffn_down.weight", odd, target), DType::F16);
    // The classifier: q6_k when rows fill 256-value blocks, else q8_0; q8_0 for a q8_0 target.
    const DType head = target == DType::Q8_0 ? DType::Q8_0 : DType::Q6_K;
    EXPECT_EQ(choose("output.weight", wide, target), head);
    EXPECT_EQ(choose("output.weight", mat, target), DType::Q8_0);
    EXPECT_EQ(choose("output.weight", odd, target), DType::F16);
    // The embedding is the classifier only when tied.
    EXPECT_EQ(choose("token_embd.weight", wide, target, false), target);
    EXPECT_EQ(choose("token_embd.weight", wide, target, true), head);
  }
  // Quantized sources: requantized to whatever the target asks (as llama-quantize
  // --allow-requantize), with a note; copied when the type already matches.
  const Tensor q41 = quantize_tensor(mat, DType::Q4_1), q80 = quantize_tensor(mat, DType::Q8_0);
  std::string note;
  EXPECT_EQ(choose_tensor_type("blk.0.attn_q.weight", q41, DType::Q8_0, false, &note), DType::Q8_0);
  EXPECT_NE(note.find("requantized from q4_1"), std::string::npos) << note;
  EXPECT_EQ(choose_tensor_type("blk.0.attn_q.weight", q41, DType::Q4_1, false, &note), DType::Q4_1);
  EXPECT_EQ(note, "");
  EXPECT_EQ(choose("blk.0.attn_q.weight", q41, DType::Q4_0), DType::Q4_0);
  EXPECT_EQ(choose("blk.0.attn_q.weight", q80, DType::Q4_1), DType::Q4_1);
  EXPECT_EQ(choose("token_embd.weight", q80, DType::Q4_0, true), DType::Q8_0);
  EXPECT_THROW(choose("x.weight", mat, DType::F16), Error);
}

TEST(QuantizePolicy, PermuteRopeRowsMovesHalfSplitPairsNextToEachOther) {
  // 2 heads of 4 rows: head rows (0,1,2,3) -> (0,2,1,3).
  std::vector<float> v(8 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i / 2);
  const Tensor p = permute_rope_rows(Tensor::from_f32(v, {8, 2}), 2);
  const std::vector<float> got = p.to_f32();
  const std::vector<float> rows = {got[0], got[2],  got[4],  got[6],
                                   got[8], got[10], got[12], got[14]};
  EXPECT_EQ(rows, (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_THROW(permute_rope_rows(Tensor::from_f32(v, {8, 2}), 3), Error);
  // Rows move whole, so permuting commutes with quantizing.
  const Tensor x = f32({64, 64});
  const Tensor a = quantize_tensor(permute_rope_rows(x, 4), DType::Q4_1);
  const Tensor b = permute_rope_rows(quantize_tensor(x, DType::Q4_1), 4);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.nbytes()));
}

// A Hugging Face checkpoint (half-split RoPE) and the GGUF llm quantize makes from it compute
// the same function: the permutation of q/k rows exactly compensates the other RoPE pairing.
TEST(Quantize, HuggingFaceSourceBecomesAnInterleavedGgufWithTheSameLogits) {
  ModelConfig c = test10::tiny_config(true);
  const TensorMap w = test10::random_weights(c, 21);
  const std::string dir = temp_dir("qhf");
  test10::write_hf_dir(dir + "/hf", c, w, 2);
  const Checkpoint src = open_checkpoint(dir + "/hf");
  ASSERT_EQ(src.config.rope_layout, RopeLayout::HalfSplit);
  quantize_model(src, DType::Q8_0, dir + "/q8.gguf");
  const LoadedModel hf = load_model(dir + "/hf");
  const LoadedModel q8 = load_model(dir + "/q8.gguf");
  EXPECT_EQ(q8.model->config.rope_layout, RopeLayout::Interleaved);
  test10::expect_same_config(q8.model->config, c);
  // Byte-exact: the file holds quantize(permute(wq)).
  const Tensor want =
      permute_rope_rows(quantize_tensor(w.at("blk.1.attn_k.weight"), DType::Q8_0), c.n_kv_heads);
  EXPECT_EQ(0, std::memcmp(q8.model->layers[1].wk.data(), want.data(), want.nbytes()));
  const std::vector<int32_t> toks = {1, 17, 99, 5, 64, 3};
  const auto a = logits(*hf.model, toks), b = logits(*q8.model, toks);
  EXPECT_LT(t::nmse(b, a), 1e-3);  // q8_0 noise only
  // And in f32 the two layouts agree to rounding: write the permuted weights unquantized.
  TensorMap perm = w;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    perm[p + "attn_q.weight"] = permute_rope_rows(w.at(p + "attn_q.weight"), c.n_heads);
    perm[p + "attn_k.weight"] = permute_rope_rows(w.at(p + "attn_k.weight"), c.n_kv_heads);
  }
  test10::gguf_model(c, perm).write(dir + "/f32.gguf");
  const auto exact = logits(*load_model(dir + "/f32.gguf").model, toks);
  EXPECT_LT(t::max_abs_diff(exact, a), 1e-4);
}

TEST(Quantize, Stories260KToEveryTargetLoadsWithinTheErrorBound) {
  const std::string path = t::models_dir() + "/stories260K-f32.gguf";
  if (!t::require_file(path)) GTEST_SKIP() << t::skip_reason(path);
  const LoadedModel ref = load_model(path);
  const std::string dir = temp_dir("q260k");
  for (DType target : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    SCOPED_TRACE(std::string(dtype_name(target)));
    const std::string out = dir + "/" + std::string(dtype_name(target)) + ".gguf";
    const QuantizeSummary s = quantize_model(open_checkpoint(path), target, out);
    EXPECT_EQ(s.n_tensors, 48);
    EXPECT_EQ(s.n_fallback, target == DType::Q8_0 ? 5 : 6);  // ffn_down ×5 (+ the classifier)
    EXPECT_TRUE(s.has_tokenizer);
    const LoadedModel q = load_model(out);
    const GgufFile f = GgufFile::open(out);
    EXPECT_EQ(f.metadata().get_int("general.file_type"), target == DType::Q8_0   ? 7
                                                         : target == DType::Q4_0 ? 2
                                                                                 : 3);
    EXPECT_EQ(f.find("blk.2.attn_q.weight")->dtype, target);
    EXPECT_EQ(f.find("blk.2.ffn_down.weight")->dtype, DType::F16);  // 172 columns
    EXPECT_EQ(f.find("blk.2.ffn_norm.weight")->dtype, DType::F32);
    EXPECT_EQ(f.find("output.weight")->dtype, DType::Q8_0);  // q6_k needs rows of 256
    EXPECT_EQ(f.find("token_embd.weight")->dtype, target);   // not tied: an ordinary matrix
    // Error bound per block: q8_0 within d/2 = amax/254; q4_0 within |d|/2 + 1 step at the
    // clamp = amax/8; q4_1 within d/2 = (max-min)/30. Checked against the tensor's max |x|.
    const double bound = target == DType::Q8_0   ? 1.0 / 254
                         : target == DType::Q4_0 ? 1.0 / 8
                                                 : 1.0 / 15;
    auto check = [&](const Tensor& a, const Tensor& b, const char* what) {
      const std::vector<float> x = dequantize_tensor(a).to_f32(), y = dequantize_tensor(b).to_f32();
      double amax = 0;
      for (float v : x) amax = std::max(amax, std::fabs(static_cast<double>(v)));
      EXPECT_LE(t::max_abs_diff(y, x), amax * bound * 1.2 + 1e-6) << what;
    };
    for (size_t l = 0; l < ref.model->layers.size(); ++l) {
      check(ref.model->layers[l].wq, q.model->layers[l].wq, "wq");
      check(ref.model->layers[l].w_up, q.model->layers[l].w_up, "w_up");
      check(ref.model->layers[l].w_down, q.model->layers[l].w_down, "w_down");
    }
    check(ref.model->token_embd, q.model->token_embd, "token_embd");
    ASSERT_NE(q.tokenizer, nullptr);
    EXPECT_EQ(q.tokenizer->encode("Once upon a time"), ref.tokenizer->encode("Once upon a time"));
  }
}

TEST(Quantize, Llama2cWithItsTokenizerBecomesACompleteGguf) {
  const std::string bin = t::models_dir() + "/stories260K.bin";
  const std::string tok = t::models_dir() + "/tok512.bin";
  const std::string gguf = t::models_dir() + "/stories260K-f32.gguf";
  for (const auto& p : {bin, tok, gguf})
    if (!t::require_file(p)) GTEST_SKIP() << t::skip_reason(p);
  const std::string out = temp_dir("q2c") + "/s.gguf";
  const QuantizeSummary s = quantize_model(open_checkpoint(bin, tok), DType::Q8_0, out);
  EXPECT_TRUE(s.has_tokenizer) << s.tokenizer_note;
  EXPECT_EQ(s.n_tensors, 47);  // tied: no output.weight
  const GgufFile f = GgufFile::open(out);
  const GgufFile ref = GgufFile::open(gguf);
  // The vocabulary written from tok512.bin is llama.cpp's own conversion of it.
  EXPECT_EQ(f.metadata().get_strings("tokenizer.ggml.tokens"),
            ref.metadata().get_strings("tokenizer.ggml.tokens"));
  EXPECT_EQ(f.metadata().get_numbers("tokenizer.ggml.scores"),
            ref.metadata().get_numbers("tokenizer.ggml.scores"));
  EXPECT_EQ(f.metadata().get_numbers("tokenizer.ggml.token_type"),
            ref.metadata().get_numbers("tokenizer.ggml.token_type"));
  EXPECT_EQ(f.find("token_embd.weight")->dtype, DType::Q8_0);  // tied classifier at q8_0
  const LoadedModel q = load_model(out);
  const LoadedModel r = load_model(gguf);
  EXPECT_TRUE(q.model->config.tied_embeddings);
  const std::string text = "The little dog ran to the park.";
  EXPECT_EQ(q.tokenizer->encode(text), r.tokenizer->encode(text));
  // Without a tokenizer the file is still a model, and the summary says what is missing.
  const QuantizeSummary bare = quantize_model(open_checkpoint(bin), DType::Q8_0, out);
  EXPECT_FALSE(bare.has_tokenizer);
  EXPECT_NE(bare.tokenizer_note.find("--tokenizer"), std::string::npos);
}

TEST(Quantize, HuggingFaceByteLevelTokenizerIsCarriedOver) {
  const std::string tok = t::shared_dir() + "/tokenizers/smollm2/tokenizer.json";
  const std::string smol = t::default_model_path();
  if (!t::require_file(tok)) GTEST_SKIP() << t::skip_reason(tok);
  ModelConfig c = test10::tiny_config(true);
  c.vocab_size = 49152;
  const std::string dir = temp_dir("qhftok");
  test10::write_hf_dir(dir + "/hf", c, test10::random_weights(c, 3), 1);
  fs::copy_file(tok, dir + "/hf/tokenizer.json");
  const QuantizeSummary s =
      quantize_model(open_checkpoint(dir + "/hf"), DType::Q4_0, dir + "/q.gguf");
  ASSERT_TRUE(s.has_tokenizer) << s.tokenizer_note;
  const GgufFile f = GgufFile::open(dir + "/q.gguf");
  EXPECT_EQ(f.metadata().get_string("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(f.metadata().get_strings("tokenizer.ggml.merges").size(), 48900u);
  const LoadedModel q = load_model(dir + "/q.gguf");
  const auto json_tok = load_tokenizer(tok);
  const std::string text = "Hello world! 12345 naïve café, don't stop.";
  EXPECT_EQ(q.tokenizer->encode(text), json_tok->encode(text));
  if (t::require_file(smol)) {
    const GgufFile real = GgufFile::open(smol);
    EXPECT_EQ(f.metadata().get_strings("tokenizer.ggml.tokens"),
              real.metadata().get_strings("tokenizer.ggml.tokens"));
    EXPECT_EQ(f.metadata().get_strings("tokenizer.ggml.merges"),
              real.metadata().get_strings("tokenizer.ggml.merges"));
  }
}
