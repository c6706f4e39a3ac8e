// The CUDA backend of chapter 9: the forward pass on an NVIDIA GPU, behind chapter 4's Backend.
//
//   - weights are uploaded once, by prepare(), in the file's dtype: quantized blocks stay
//     quantized in device memory and are dequantized inside the kernels;
//   - activations and the paged KV pool live in device memory (cudaMalloc, never managed
//     memory); everything runs on one stream; nothing is allocated per token;
//   - each op is a kernel written in this chapter, its earlier versions kept beside it the way
//     llm.c's dev/cuda keeps kernel1, kernel2, … (CudaOptions picks one, the tests run them
//     all); prefill matmuls go through cuBLAS (the ceiling) or the chapter's tiled kernel;
//   - a weight dtype without a kernel here runs on the wrapped CPU backend (the activations
//     copied over and back), and `stats()` counts each such call as a fallback.
// CUDA headers stay in this chapter's src/: nothing here names a CUDA type. Without CUDA at
// build time the functions exist and throw llm::Error saying so.
#pragma once

#include <memory>
#include <string>

#include "llm/kvcache/paged_kv_cache.h"
#include "llm/transformer/backend.h"

namespace llm::cuda {

// What this build and this machine offer (`llm info`, `llm --version`).
struct DeviceInfo {
  bool built = false;        // compiled with CUDA
  int count = 0;             // GPUs visible
  std::string name;          // device 0's
  size_t memory_bytes = 0;   // device 0's
  int major = 0, minor = 0;  // compute capability
  double peak_gb_per_s = 0;  // memory bandwidth: 2 (DDR) × memory clock × bus width
  std::string why;           // when count is 0: the driver's answer
  std::string summary() const;
};
DeviceInfo device_info();

struct CudaOptions {
  int device = 0;
  // Kernel versions (each kept beside its predecessor; the tests check every one):
  int rmsnorm = 2;  // 1: a thread per row; 2: a block per row, tree reduction
  int matvec = 2;   // 1: a thread per output; 2: a warp per output row, coalesced, shuffles
  int gemm = 0;     // prefill: 0 cuBLAS (dequantized weight), 1 naive kernel, 2 shared-memory tiles
  // Batches of up to this many tokens take the matrix-vector kernels (8 tokens per read of the
  // weight); larger ones (prefill) `gemm`, unless batch_invariant: then every batch takes the
  // matvec kernels, so a request's numbers never depend on what it is batched with (the
  // server's choice).
  int matvec_max_tokens = 64;
  bool batch_invariant = false;
};

// A backend on GPU `options.device`, wrapping `fallback` (chapter 8's best CPU backend) for
// what it has no kernel for. Throws llm::Error without CUDA or without a GPU.
std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<Backend> fallback,
                                           const CudaOptions& options = {});

// Device memory for chapter 5's KV pool (PagedKvOptions::memory): the CUDA backend needs its
// cache there. Throws llm::Error without CUDA or without a GPU.
std::unique_ptr<KvPoolMemory> make_device_kv_memory(int device = 0);

// The backend for `--device`: chapter 8's CPU backend over `kernels` and `threads` ("cpu"), or
// the CUDA backend wrapping it ("cuda"). With cuda, kv_memory is the device memory the paged
// cache must be given (PagedKvOptions::memory); declare it before the cache, which frees its
// pool through it. Throws llm::Error for another name, or cuda without CUDA or a GPU.
struct DeviceBackend {
  std::unique_ptr<KvPoolMemory> kv_memory;  // null on the CPU
  std::unique_ptr<Backend> backend;
  CpuBackend* cpu = nullptr;  // the backend itself on the CPU, else null
};
DeviceBackend make_device_backend(const std::string& device, Kernels kernels, int threads,
                                  bool batch_invariant = false);

}  // namespace llm::cuda
