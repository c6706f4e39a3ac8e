#include "llm/parallel/tensor_parallel.h"

#include <exception>

#include "llm/config/error.h"
#include "llm/loading/register.h"

namespace llm::parallel {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Kernels kernels(const std::map<std::string, std::string>& overrides) {
  Registry registry;
  register_loading(registry);
  return Kernels::select(registry, overrides);
}

// Each rank's cache gets the block count the options give the whole model, so every rank's
// pool has the same blocks and the leader's block tables replay identically on the others.
PagedKvOptions rank_kv(const Model& full, PagedKvOptions kv) {
  kv.n_blocks = PagedKvCache::block_count(full.config, kv);
  return kv;
}

}  // namespace

namespace {
// Runs one collective, adding its time, one call and its bytes to the counters.
template <class Op>
void timed(CommStats& s, uint64_t& calls, uint64_t& bytes, size_t n_bytes, Op op) {
  const auto t0 = Clock::now();
  op();
  s.seconds += since(t0);
  calls++;
  bytes += n_bytes;
}
}  // namespace

void TimedCommunicator::all_reduce_sum(float* data, size_t n) {
  timed(stats_, stats_.all_reduces, stats_.all_reduce_bytes, n * sizeof(float),
        [&] { inner_.all_reduce_sum(data, n); });
}

void TimedCommunicator::all_gather(const float* local, std::span<const size_t> counts, float* out) {
  size_t n = 0;
  for (const size_t c : counts) n += c;
  timed(stats_, stats_.all_gathers, stats_.all_gather_bytes, n * sizeof(float),
        [&] { inner_.all_gather(local, counts, out); });
}

void TimedCommunicator::broadcast(float* data, size_t n, int root) {
  timed(stats_, stats_.broadcasts, stats_.broadcast_bytes, n * sizeof(float),
        [&] { inner_.broadcast(data, n, root); });
}

void TimedCommunicator::broadcast(int32_t* data, size_t n, int root) {
  timed(stats_, stats_.broadcasts, stats_.broadcast_bytes, n * sizeof(int32_t),
        [&] { inner_.broadcast(data, n, root); });
}

Rank::Rank(const Model& full, Communicator& comm, const RankOptions& o)
    : shard_(shard_model(full, plan_shard(full, comm.rank(), comm.size()))),
      backend_(kernels(o.kernel_overrides), o.threads),
      cache_(shard_.config, rank_kv(full, o.kv)),
      transformer_(shard_, backend_, cache_, comm, o.max_batch) {}

ThreadTensorParallel::ThreadTensorParallel(const Model& full, int world, const RankOptions& o)
    : comms_(ThreadCommunicator::create(world)),
      timed_(std::make_unique<TimedCommunicator>(*comms_[0])),
      bytes_(static_cast<size_t>(world)) {
  for (int r = 0; r < world; ++r) plan_shard(full, r, world);  // a clear error before any thread
  // Building a rank runs a collective (the ranks exchange their vocabulary shares), so the
  // followers build theirs on their own threads while this thread builds rank 0's.
  for (int r = 1; r < world; ++r)
    followers_.emplace_back([this, &full, &o, r] {
      ThreadCommunicator& comm = *comms_[static_cast<size_t>(r)];
      try {
        Rank rank(full, comm, o);
        bytes_[static_cast<size_t>(r)] = {rank.weight_bytes(), rank.kv_bytes()};
        comm.barrier();  // every rank is built
        rank.transformer().follow();
      } catch (const std::exception& e) {
        comm.abort("rank " + std::to_string(r) + ": " + e.what());
      }
    });
  try {
    leader_ = std::make_unique<Rank>(full, *timed_, o);
    bytes_[0] = {leader_->weight_bytes(), leader_->kv_bytes()};
    comms_[0]->barrier();
  } catch (const std::exception& e) {
    comms_[0]->abort(std::string("rank 0: ") + e.what());
    for (std::thread& t : followers_) t.join();
    throw;
  }
  timed_->reset();
}

ThreadTensorParallel::~ThreadTensorParallel() {
  try {
    leader_->transformer().release_followers();
  } catch (const std::exception&) {
    comms_[0]->abort("the leader could not release the followers");
  }
  for (std::thread& t : followers_) t.join();
}

}  // namespace llm::parallel
