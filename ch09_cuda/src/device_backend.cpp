// make_device_backend: the one place where `--device` becomes a backend (the CLI and the
// server). Built with or without CUDA; without it, make_cuda_backend says so.
#include "llm/config/error.h"
#include "llm/cuda/cuda_backend.h"

namespace llm::cuda {

DeviceBackend make_device_backend(const std::string& device, Kernels kernels, int threads,
                                  bool batch_invariant) {
  DeviceBackend d;
  auto cpu = std::make_unique<CpuBackend>(std::move(kernels), threads);
  if (device == "cpu") {
    d.cpu = cpu.get();
    d.backend = std::move(cpu);
    return d;
  }
  if (device != "cuda") throw Error("--device " + device + ": expected cpu or cuda");
  CudaOptions o;
  o.batch_invariant = batch_invariant;
  d.backend = make_cuda_backend(std::move(cpu), o);  // says so without CUDA or a GPU
  d.kv_memory = make_device_kv_memory(o.device);
  return d;
}

}  // namespace llm::cuda
