#include "llm/parallel/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "llm/config/error.h"

namespace llm::parallel {
namespace {
int count(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) throw Error("MPI: a message of more than 2^31 elements");
  return static_cast<int>(n);
}
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string("MPI: ") + what +
              " failed: " + std::string(text, static_cast<size_t>(len)));
}
}  // namespace

bool MpiCommunicator::built() {
  return true;
}

bool MpiCommunicator::launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

MpiCommunicator::MpiCommunicator() {
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    // One thread at a time calls MPI (the engine may drive rank 0 from its own thread).
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    finalize_ = true;
  }
  // Errors come back as codes (turned into llm::Error), not as an abort of the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int done = 0;
  MPI_Finalized(&done);
  if (finalize_ && !done) MPI_Finalize();
}

void MpiCommunicator::all_reduce_sum(float* data, size_t n) {
  if (size_ == 1) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, count(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce");
}

void MpiCommunicator::all_gather(const float* local, std::span<const size_t> counts, float* out) {
  if (counts.size() != static_cast<size_t>(size_))
    throw Error("all_gather: one count per rank expected");
  std::vector<int> n(counts.size()), at(counts.size());
  size_t offset = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    n[r] = count(counts[r]);
    at[r] = count(offset);
    offset += counts[r];
  }
  check(MPI_Allgatherv(local, n[static_cast<size_t>(rank_)], MPI_FLOAT, out, n.data(), at.data(),
                       MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Allgatherv");
}

void MpiCommunicator::broadcast(float* data, size_t n, int root) {
  check(MPI_Bcast(data, count(n), MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void MpiCommunicator::broadcast(int32_t* data, size_t n, int root) {
  check(MPI_Bcast(data, count(n), MPI_INT32_T, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void MpiCommunicator::barrier() {
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for the type system
}

}  // namespace llm::parallel
