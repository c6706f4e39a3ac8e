// MpiCommunicator — ranks that are processes, on one host or many, over MPI (Open MPI).
//
// Start N copies with `mpirun -np N llm generate --tp-backend mpi ...`: each process is one
// rank of MPI_COMM_WORLD, loads the model file, keeps its shard and drops the rest. Every
// collective maps to one MPI call (MPI_Allreduce in place, MPI_Allgatherv, MPI_Bcast,
// MPI_Barrier); MPI picks shared memory between processes of one host and the network
// between hosts. mpi.h stays inside this chapter's source: nothing else sees MPI types.
//
// Without MPI at build time (libopenmpi-dev absent) the class still exists and its
// constructor throws llm::Error saying how to get it.
#pragma once

#include "llm/transformer/communicator.h"

namespace llm::parallel {

class MpiCommunicator final : public Communicator {
 public:
  // Initializes MPI if no one has (and then finalizes it in the destructor).
  MpiCommunicator();
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  static bool built();               // this binary has MPI
  static bool launched_by_mpirun();  // the environment of an mpirun/mpiexec rank

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(float* data, size_t n) override;
  void all_gather(const float* local, std::span<const size_t> counts, float* out) override;
  void broadcast(float* data, size_t n, int root) override;
  void broadcast(int32_t* data, size_t n, int root) override;
  void barrier() override;
  // Ends every rank of the job (MPI_Abort): what a failed rank does, so the others do not wait
  // forever in a collective.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
  bool finalize_ = false;
};

}  // namespace llm::parallel
