// The NCCL communicator of a build without CUDA: it exists, and says why it cannot run.
#include "llm/config/error.h"
#include "llm/parallel/nccl_communicator.h"

namespace llm::parallel {

struct NcclCommunicator::Impl {};

bool NcclCommunicator::built() {
  return false;
}
int NcclCommunicator::device_count() {
  return 0;
}
std::vector<std::unique_ptr<NcclCommunicator>> NcclCommunicator::create_all(std::span<const int>) {
  throw Error("this llm was built without CUDA, so without NCCL (configure with LLMCPP_CUDA=ON)");
}
NcclCommunicator::NcclCommunicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NcclCommunicator::~NcclCommunicator() = default;
int NcclCommunicator::rank() const {
  return 0;
}
int NcclCommunicator::size() const {
  return 1;
}
void NcclCommunicator::all_reduce_sum(float*, size_t) {}
void NcclCommunicator::all_gather(const float*, std::span<const size_t>, float*) {}
void NcclCommunicator::broadcast(float*, size_t, int) {}
void NcclCommunicator::broadcast(int32_t*, size_t, int) {}
void NcclCommunicator::barrier() {}

}  // namespace llm::parallel
