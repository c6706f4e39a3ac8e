// Transformer — the Llama forward pass, written once.
//
// forward() takes a ragged Batch and returns the logits of the entries that asked for them.
// Everything hardware-specific goes through the Backend (its memory, its prepared weights, its
// whole-batch ops), the KV history through the KvCache seam, and cross-rank sums through the
// Communicator: this file never changes when later chapters make it faster, paged, batched or
// sharded.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm/transformer/backend.h"
#include "llm/transformer/batch.h"
#include "llm/transformer/communicator.h"
#include "llm/transformer/kernels.h"
#include "llm/transformer/kv_cache.h"
#include "llm/transformer/model.h"

namespace llm {

// Sees named activations ("layer3.attn_out", "final_norm", "logits") of each batch entry, so a
// test can compare two backends layer by layer and report the first divergence.
using ActivationObserver =
    std::function<void(std::string_view name, int batch_index, std::span<const float> values)>;

class Transformer {
 public:
  // `max_batch` bounds the tokens of one forward() call; the workspace is sized once, here,
  // and every weight is prepared once by the backend.
  Transformer(const Model& model, Backend& backend, KvCache& cache, Communicator& comm,
              int max_batch = 512);
  Transformer(const Model& model, Backend& backend, KvCache& cache, int max_batch = 512);
  // A transformer with its own single-threaded CpuBackend over `kernels`.
  Transformer(const Model& model, Kernels kernels, KvCache& cache, int max_batch = 512);
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  // Runs the batch. Returns logits [n_logits][vocab] in the order the entries appear in the
  // batch. Throws llm::Error for an invalid batch (token id out of range, position beyond
  // the cache, more tokens than max_batch). The span is valid until the next call.
  std::span<const float> forward(const Batch& batch);

  // ---- tensor parallelism (chapter 11) ----
  // With a communicator of several ranks, each rank runs a Transformer over its shard of the
  // model. Rank 0, the leader, is driven as usual (generate(), the engine): its forward()
  // broadcasts each batch — and the cache's journal of table changes — to the followers. Every
  // other rank calls follow(), which runs the batches it receives until the leader calls
  // release_followers(); then follow() returns.
  void follow();
  void release_followers();

  void set_observer(ActivationObserver observer) { observer_ = std::move(observer); }
  const Model& model() const { return model_; }
  Backend& backend() { return backend_; }
  KvCache& cache() { return cache_; }
  int max_batch() const { return max_batch_; }

 private:
  struct PreparedLayer {
    const PreparedWeight *wq, *wk, *wv, *wo, *w_gate, *w_up, *w_down;
  };
  void init();
  std::span<const float> run(const Batch& batch);  // forward() after the leader's broadcast
  void send_batch(const Batch& batch);             // leader: journal + batch to the followers
  std::span<const float> gather_logits(int m);     // the vocabulary shards' logits, in order
  void attention_layer(int layer, const Batch& batch);
  void ffn_layer(int layer, int n);
  void observe_layer(int layer, std::string_view what, const float* buf, int n, int width);
  void observe(const std::string& name, const float* buf, int n, int width);

  std::unique_ptr<CpuBackend> own_backend_;  // only with the Kernels constructor
  const Model& model_;
  Backend& backend_;
  KvCache& cache_;
  Communicator& comm_;
  SingleRank single_rank_;
  int max_batch_;
  ActivationObserver observer_;
  std::vector<PreparedLayer> layers_;
  const PreparedWeight* output_ = nullptr;

  // Activations in the backend's workspace, [max_batch][width] each.
  float* x_;                 // residual stream        [B][dim]
  float* xb_;                // normed input           [B][dim]
  float* q_;                 // queries                [B][q_dim]
  float* k_;                 // keys                   [B][kv_dim]
  float* v_;                 // values                 [B][kv_dim]
  float* att_;               // attention output       [B][q_dim]
  float* proj_;              // projection output      [B][dim]
  float* gate_;              // FFN gate               [B][hidden]
  float* up_;                // FFN up                 [B][hidden]
  float* logits_ = nullptr;  // [n_logits][vocab], grown when a batch asks for more rows
  int logit_capacity_ = 0;
  std::vector<int> logit_rows_;
  // Tensor parallelism: the leader's cache journal, the message buffer, and each rank's
  // vocabulary rows with the gathered logits ([rank][m][rows] reordered to [m][vocab]).
  std::vector<int32_t> journal_, message_;
  bool released_ = false;
  std::vector<size_t> vocab_rows_;
  std::vector<float> gathered_, full_logits_;
};

}  // namespace llm
