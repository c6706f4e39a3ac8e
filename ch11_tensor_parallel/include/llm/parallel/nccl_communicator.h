// NcclCommunicator — one rank per GPU, over NCCL (NVIDIA's collectives: NVLink/PCIe inside a
// machine, InfiniBand/RoCE across machines).
//
// create_all() makes the ranks of one process driving several GPUs (ncclCommInitAll), one
// thread per rank as with the thread communicator. The collectives take device pointers (the
// CUDA backend's activations) and run on the rank's stream; a host pointer — chapter 8's CPU
// activations — is staged through a device buffer, which is what lets this chapter's tests run
// the same forward pass over NCCL before chapter 9's backend keeps activations on the GPU.
// CUDA and NCCL headers stay in this chapter's source.
//
// Built when CUDA is (LLMCPP_CUDA=AUTO finds /usr/local/cuda); otherwise the class exists and
// create_all() throws llm::Error saying so.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "llm/transformer/communicator.h"

namespace llm::parallel {

class NcclCommunicator final : public Communicator {
 public:
  struct Impl;
  static bool built();        // this binary has NCCL
  static int device_count();  // GPUs visible to CUDA here (0 without a GPU or a driver)
  // One communicator per device, rank i on devices[i]; throws llm::Error without GPUs.
  static std::vector<std::unique_ptr<NcclCommunicator>> create_all(std::span<const int> devices);

  explicit NcclCommunicator(std::unique_ptr<Impl> impl);
  ~NcclCommunicator() override;
  int rank() const override;
  int size() const override;
  void all_reduce_sum(float* data, size_t n) override;
  void all_gather(const float* local, std::span<const size_t> counts, float* out) override;
  void broadcast(float* data, size_t n, int root) override;
  void broadcast(int32_t* data, size_t n, int root) override;
  void barrier() override;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llm::parallel
