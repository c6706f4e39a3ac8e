#include "llm/parallel/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <string>

#include "llm/config/error.h"

namespace llm::parallel {
namespace {
void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}
void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw Error(std::string("NCCL: ") + what + ": " + ncclGetErrorString(r));
}
bool on_device(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();  // a plain host pointer on older runtimes: clear the error
    return false;
  }
  return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}
}  // namespace

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  int device = 0, rank = 0, size = 1;
  cudaStream_t stream = nullptr;
  void* staging = nullptr;  // for host buffers; grown, never shrunk
  size_t staging_bytes = 0;

  ~Impl() {
    if (staging) cudaFree(staging);
    if (stream) cudaStreamDestroy(stream);
    if (comm) ncclCommDestroy(comm);
  }
  void* stage(size_t bytes) {
    if (bytes > staging_bytes) {
      if (staging) cuda_check(cudaFree(staging), "cudaFree");
      staging = nullptr;
      cuda_check(cudaMalloc(&staging, bytes), "cudaMalloc");
      staging_bytes = bytes;
    }
    return staging;
  }
  void sync() { cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); }
  // Runs op(device_pointer) in place on `bytes` of `data`, staging host memory in and out.
  template <class Op>
  void in_place(void* data, size_t bytes, Op op) {
    cuda_check(cudaSetDevice(device), "cudaSetDevice");
    if (on_device(data)) {
      op(data);
      sync();
      return;
    }
    void* d = stage(bytes);
    cuda_check(cudaMemcpyAsync(d, data, bytes, cudaMemcpyHostToDevice, stream), "copy in");
    op(d);
    cuda_check(cudaMemcpyAsync(data, d, bytes, cudaMemcpyDeviceToHost, stream), "copy out");
    sync();
  }
};

bool NcclCommunicator::built() {
  return true;
}

int NcclCommunicator::device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::vector<std::unique_ptr<NcclCommunicator>> NcclCommunicator::create_all(
    std::span<const int> devices) {
  if (devices.empty()) throw Error("NCCL: no devices given");
  const int have = device_count();
  for (const int d : devices)
    if (d < 0 || d >= have)
      throw Error("NCCL: GPU " + std::to_string(d) + " requested, " + std::to_string(have) +
                  " visible");
  std::vector<ncclComm_t> comms(devices.size());
  nccl_check(ncclCommInitAll(comms.data(), static_cast<int>(devices.size()), devices.data()),
             "ncclCommInitAll");
  std::vector<std::unique_ptr<NcclCommunicator>> out;
  for (size_t r = 0; r < devices.size(); ++r) {
    auto impl = std::make_unique<Impl>();
    impl->comm = comms[r];
    impl->device = devices[r];
    impl->rank = static_cast<int>(r);
    impl->size = static_cast<int>(devices.size());
    cuda_check(cudaSetDevice(impl->device), "cudaSetDevice");
    cuda_check(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    out.push_back(std::make_unique<NcclCommunicator>(std::move(impl)));
  }
  return out;
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NcclCommunicator::~NcclCommunicator() = default;
int NcclCommunicator::rank() const {
  return impl_->rank;
}
int NcclCommunicator::size() const {
  return impl_->size;
}

void NcclCommunicator::all_reduce_sum(float* data, size_t n) {
  Impl& m = *impl_;
  m.in_place(data, n * sizeof(float), [&](void* d) {
    nccl_check(ncclAllReduce(d, d, n, ncclFloat, ncclSum, m.comm, m.stream), "ncclAllReduce");
  });
}

// NCCL's all-gather takes equal parts: each rank sends max(counts) floats, and the padding is
// dropped while copying out.
void NcclCommunicator::all_gather(const float* local, std::span<const size_t> counts, float* out) {
  Impl& m = *impl_;
  if (counts.size() != static_cast<size_t>(m.size))
    throw Error("all_gather: one count per rank expected");
  const size_t part = *std::max_element(counts.begin(), counts.end());
  const size_t mine = counts[static_cast<size_t>(m.rank)];
  cuda_check(cudaSetDevice(m.device), "cudaSetDevice");
  auto* d = static_cast<float*>(m.stage((static_cast<size_t>(m.size) + 1) * part * sizeof(float)));
  float* send = d + static_cast<size_t>(m.size) * part;
  cuda_check(cudaMemcpyAsync(send, local, mine * sizeof(float), cudaMemcpyDefault, m.stream),
             "copy in");
  nccl_check(ncclAllGather(send, d, part, ncclFloat, m.comm, m.stream), "ncclAllGather");
  for (size_t r = 0; r < counts.size(); ++r) {
    cuda_check(
        cudaMemcpyAsync(out, d + r * part, counts[r] * sizeof(float), cudaMemcpyDefault, m.stream),
        "copy out");
    out += counts[r];
  }
  m.sync();
}

void NcclCommunicator::broadcast(float* data, size_t n, int root) {
  Impl& m = *impl_;
  m.in_place(data, n * sizeof(float), [&](void* d) {
    nccl_check(ncclBroadcast(d, d, n, ncclFloat, root, m.comm, m.stream), "ncclBroadcast");
  });
}

void NcclCommunicator::broadcast(int32_t* data, size_t n, int root) {
  Impl& m = *impl_;
  m.in_place(data, n * sizeof(int32_t), [&](void* d) {
    nccl_check(ncclBroadcast(d, d, n, ncclInt32, root, m.comm, m.stream), "ncclBroadcast");
  });
}

void NcclCommunicator::barrier() {
  float one = 1.0f;  // NCCL has no barrier: an all-reduce of one float waits for every rank
  all_reduce_sum(&one, 1);
}

}  // namespace llm::parallel
