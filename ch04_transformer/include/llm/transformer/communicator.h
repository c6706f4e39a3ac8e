// Communicator — how ranks of a sharded model exchange partial results.
//
// The forward pass calls all_reduce_sum at the two points where tensor parallelism splits a
// layer (after the attention output projection and after the FFN down projection, Megatron
// style) and all_gather once, for the logits of a classifier split by vocabulary. Rank 0 (the
// leader) broadcasts each batch to the other ranks (the followers) as token ids. With one rank
// every call does nothing. Chapter 11 plugs in here with threads in one process, MPI across
// processes and NCCL across GPUs.
//
// Every collective is called by every rank in the same order (the usual MPI contract), and
// blocks until the rank's part is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace llm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // data[i] = the sum over ranks of data[i], on every rank.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  // out = the concatenation, in rank order, of every rank's `local`; rank r contributes
  // counts[r] floats (sizes may differ, as a vocabulary split unevenly). Every rank gets it all.
  virtual void all_gather(const float* local, std::span<const size_t> counts, float* out) = 0;
  // data = root's data, on every rank.
  virtual void broadcast(float* data, size_t n, int root) = 0;
  virtual void broadcast(int32_t* data, size_t n, int root) = 0;
  virtual void barrier() = 0;
};

class SingleRank final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void all_gather(const float* local, std::span<const size_t> counts, float* out) override;
  void broadcast(float*, size_t, int) override {}
  void broadcast(int32_t*, size_t, int) override {}
  void barrier() override {}
};

}  // namespace llm
