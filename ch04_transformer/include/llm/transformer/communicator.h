// Communicator — how ranks of a sharded model exchange partial results.
//
// The forward pass calls all_reduce_sum at the two points where tensor parallelism splits a
// layer (after the attention output projection and after the FFN down projection, Megatron
// style). With one rank both calls do nothing. Chapter 11 plugs in here with threads in one
// process, MPI across processes and NCCL across GPUs.
#pragma once

#include <cstddef>

namespace llm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  virtual void all_gather(const float* local, size_t n_local,
                          float* out) = 0;  // out: size()*n_local
  virtual void broadcast(float* data, size_t n, int root) = 0;
};

class SingleRank final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void all_gather(const float* local, size_t n_local, float* out) override;
  void broadcast(float*, size_t, int) override {}
};

}  // namespace llm
