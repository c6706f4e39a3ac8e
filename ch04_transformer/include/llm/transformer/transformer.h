// Transformer — the Llama forward pass, written once.
//
// forward() takes a ragged Batch and returns the logits of the entries that asked for them.
// Everything hardware-specific goes through the Kernels table, the KV history through the
// KvCache seam, and cross-rank sums through the Communicator: this file never changes when
// later chapters make it faster, paged, batched or sharded.
#pragma once

#include <functional>
#include <span>
#include <string_view>
#include <vector>

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
  // `max_batch` bounds the tokens of one forward() call; buffers are sized once, here.
  Transformer(const Model& model, Kernels kernels, KvCache& cache, Communicator& comm,
              int max_batch = 512);
  Transformer(const Model& model, Kernels kernels, KvCache& cache, int max_batch = 512);

  // Runs the batch. Returns logits [n_logits][vocab] in the order the entries appear in the
  // batch. Throws llm::Error for an invalid batch (token id out of range, position beyond
  // the cache, more tokens than max_batch). The span is valid until the next call.
  std::span<const float> forward(const Batch& batch);

  void set_observer(ActivationObserver observer) { observer_ = std::move(observer); }
  const Model& model() const { return model_; }
  const Kernels& kernels() const { return kernels_; }
  KvCache& cache() { return cache_; }
  int max_batch() const { return max_batch_; }

 private:
  void attention_layer(int layer, const Batch& batch);
  void ffn_layer(int layer, int n);
  void observe(std::string_view name, int i, const float* v, int n) const;
  void observe_layer(int layer, std::string_view what, const std::vector<float>& buf, int n,
                     int width) const;

  const Model& model_;
  Kernels kernels_;
  KvCache& cache_;
  Communicator& comm_;
  SingleRank single_rank_;
  int max_batch_;
  MatmulFn mm_output_;
  ActivationObserver observer_;

  // Activation buffers, [max_batch][width] each; sized once in the constructor.
  std::vector<float> x_;        // residual stream        [B][dim]
  std::vector<float> xb_;       // normed input           [B][dim]
  std::vector<float> q_;        // queries                [B][q_dim]
  std::vector<float> k_;        // keys                   [B][kv_dim]
  std::vector<float> v_;        // values                 [B][kv_dim]
  std::vector<float> att_;      // attention output       [B][q_dim]
  std::vector<float> proj_;     // projection output      [B][dim]
  std::vector<float> gate_;     // FFN gate               [B][hidden]
  std::vector<float> up_;       // FFN up                 [B][hidden]
  std::vector<float> scratch_;  // attention scratch
  std::vector<float> logits_;   // [n_logits][vocab]
  std::vector<int> logit_rows_;
};

}  // namespace llm
