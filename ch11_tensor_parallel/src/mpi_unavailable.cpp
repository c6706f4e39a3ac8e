// The MPI communicator of a build without MPI: it exists, and says how to get MPI.
#include <cstdlib>

#include "llm/config/error.h"
#include "llm/parallel/mpi_communicator.h"

namespace llm::parallel {

bool MpiCommunicator::built() {
  return false;
}
bool MpiCommunicator::launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}
MpiCommunicator::MpiCommunicator() {
  throw Error(
      "this llm was built without MPI: install libopenmpi-dev openmpi-bin (scripts/setup does) "
      "and rebuild");
}
MpiCommunicator::~MpiCommunicator() = default;
void MpiCommunicator::all_reduce_sum(float*, size_t) {}
void MpiCommunicator::all_gather(const float*, std::span<const size_t>, float*) {}
void MpiCommunicator::broadcast(float*, size_t, int) {}
void MpiCommunicator::broadcast(int32_t*, size_t, int) {}
void MpiCommunicator::barrier() {}
void MpiCommunicator::abort(int code) {
  std::_Exit(code);
}

}  // namespace llm::parallel
