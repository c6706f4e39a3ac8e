// dump_llamacpp_tensors — llama.cpp's side of a layer-by-layer comparison (the engine's side is
// ch10_loading/examples/dump_activations.cpp; tests/golden/compare_dumps.py compares the two).
//
// Runs llama.cpp as tests/golden/make_llamacpp_golden.py does (n_ctx 512, one batch for the
// prompt, f16 KV cache, no flash attention, 2 threads), then each forced id as one token, and
// writes every graph tensor the eval callback sees as OUTDIR/s<step>_<name>.bin: raw f32 (f16
// tensors widened), for contiguous tensors only. A name seen twice in one step (llama.cpp names
// Qcur before and after RoPE alike) keeps the later tensor. Not part of the build: it links
// llama.cpp. With L = llama.cpp's source (llama-cpp-python 0.3.36's sdist vendors it under
// vendor/llama.cpp) and B = a build of it (cmake -S $L -B $B -DGGML_NATIVE=OFF -DGGML_AVX2=ON
// -DGGML_FMA=ON -DGGML_F16C=ON -DBUILD_SHARED_LIBS=ON, then cmake --build $B --target llama):
//
//   g++ -O2 -std=c++17 -I$L/include -I$L/ggml/include -L$B/bin -Wl,-rpath,$B/bin
//       dump_llamacpp_tensors.cpp -lllama -lggml -lggml-base -o dump_llamacpp_tensors  (one line)
//   ./dump_llamacpp_tensors MODEL OUTDIR "PROMPT IDS" ["FORCED IDS"]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

namespace {

std::string g_out;
int g_step = 0;

bool on_tensor(ggml_tensor* t, bool ask, void*) {
  if (ask) return true;  // see every tensor
  if ((t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16) || !ggml_is_contiguous(t)) return true;
  const int64_t n = ggml_nelements(t);
  std::vector<char> raw(ggml_nbytes(t));
  ggml_backend_tensor_get(t, raw.data(), 0, raw.size());
  std::vector<float> f(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    f[i] = t->type == GGML_TYPE_F32
               ? reinterpret_cast<const float*>(raw.data())[i]
               : ggml_fp16_to_fp32(reinterpret_cast<const ggml_fp16_t*>(raw.data())[i]);
  const std::string path = g_out + "/s" + std::to_string(g_step) + "_" + t->name + ".bin";
  if (FILE* file = std::fopen(path.c_str(), "wb")) {
    std::fwrite(f.data(), sizeof(float), f.size(), file);
    std::fclose(file);
  }
  return true;
}

// "1 2 3" -> {1, 2, 3}
std::vector<llama_token> ids_of(const char* text) {
  std::vector<llama_token> ids;
  for (char* end = nullptr;; text = end) {
    const long id = std::strtol(text, &end, 10);
    if (end == text) return ids;
    ids.push_back(static_cast<llama_token>(id));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: dump_llamacpp_tensors MODEL OUTDIR IDS [FORCED_IDS]\n");
    return 2;
  }
  g_out = argv[2];
  const auto prompt = ids_of(argv[3]);
  const auto forced = argc > 4 ? ids_of(argv[4]) : std::vector<llama_token>{};
  llama_backend_init();
  llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) return 1;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = cp.n_batch = cp.n_ubatch = 512;
  cp.n_threads = cp.n_threads_batch = 2;
  cp.type_k = cp.type_v = GGML_TYPE_F16;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.cb_eval = on_tensor;
  llama_context* ctx = llama_init_from_model(model, cp);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_batch batch = llama_batch_init(512, 0, 1);
  auto decode = [&](const std::vector<llama_token>& ids, int pos0) {
    batch.n_tokens = static_cast<int32_t>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      batch.token[i] = ids[i];
      batch.pos[i] = pos0 + static_cast<int>(i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = i + 1 == ids.size();
    }
    if (llama_decode(ctx, batch) != 0) std::exit(1);
    const float* logits = llama_get_logits_ith(ctx, -1);
    int best = 0;
    for (int i = 1; i < n_vocab; ++i)
      if (logits[i] > logits[best]) best = i;
    std::printf("step %d: argmax %d (logit %.9g)\n", g_step, best, logits[best]);
    ++g_step;
  };
  decode(prompt, 0);
  int pos = static_cast<int>(prompt.size());
  for (llama_token id : forced) decode({id}, pos++);
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
