// Chapter 9 in a build without CUDA: the functions exist and say how to get it.
#include "llm/config/error.h"
#include "llm/cuda/cuda_backend.h"

namespace llm::cuda {
namespace {
[[noreturn]] void no_cuda() {
  throw Error(
      "this llm was built without CUDA (no nvcc found, or LLMCPP_CUDA=OFF): configure with "
      "the CUDA toolkit under /usr/local/cuda, e.g. `cmake --preset cuda`");
}
}  // namespace

std::string DeviceInfo::summary() const {
  return "not built (configure with the CUDA toolkit: `cmake --preset cuda`)";
}

DeviceInfo device_info() {
  return {};
}

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<Backend>, const CudaOptions&) {
  no_cuda();
}

std::unique_ptr<KvPoolMemory> make_device_kv_memory(int) {
  no_cuda();
}

}  // namespace llm::cuda
