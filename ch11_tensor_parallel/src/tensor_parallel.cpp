#include "llm/parallel/tensor_parallel.h"

#include <exception>

#include "llm/config/error.h"
#include "llm/loading/register.h"
#include "llm/parallel/mpi_communicator.h"

namespace llm::parallel {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Kernels kernels(const RankOptions& o) {
  if (o.kernels) return o.kernels();
  Registry registry;
  register_loading(registry);
  return Kernels::select(registry, o.kernel_overrides);
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
      backend_(kernels(o), o.threads),
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

ShardedModel::ShardedModel(const Model& full, int world, const std::string& backend,
                           const RankOptions& o) {
  if (backend == "threads") {
    world_ = std::max(world, 1);
    RankOptions per_rank = o;  // the process's threads, shared between its ranks
    per_rank.threads = std::max(1, o.threads / world_);
    threads_ = std::make_unique<ThreadTensorParallel>(full, world_, per_rank);
    bytes_ = threads_->bytes_per_rank();
    return;
  }
  if (backend != "mpi")
    throw Error("tensor-parallel backend '" + backend + "': expected threads or mpi");
  auto mpi = std::make_unique<MpiCommunicator>();
  world_ = mpi->size();
  if (world > 0 && world != world_)
    throw Error("--tp " + std::to_string(world) + ", but mpirun started " + std::to_string(world_) +
                " processes (give the same N to both, or omit --tp)");
  is_leader_ = mpi->rank() == 0;
  plan_shard(full, mpi->rank(), world_);  // every rank fails alike, before any collective
  mpi_ = std::move(mpi);
  timed_ = std::make_unique<TimedCommunicator>(*mpi_);
  rank_ = std::make_unique<Rank>(full, *timed_, o);
  // Every rank's bytes, in KiB (exact in a float up to 16 GiB).
  const float mine[2] = {static_cast<float>(rank_->weight_bytes() >> 10),
                         static_cast<float>(rank_->kv_bytes() >> 10)};
  std::vector<float> all(2 * static_cast<size_t>(world_));
  const std::vector<size_t> two(static_cast<size_t>(world_), 2);
  timed_->all_gather(mine, two, all.data());
  for (size_t r = 0; r < static_cast<size_t>(world_); ++r)
    bytes_.emplace_back(static_cast<size_t>(all[2 * r]) << 10, static_cast<size_t>(all[2 * r + 1])
                                                                   << 10);
  timed_->reset();
}

ShardedModel::~ShardedModel() {
  if (rank_ && is_leader_) {
    try {
      rank_->transformer().release_followers();
    } catch (const std::exception&) {
      mpi_->abort(1);  // the followers would wait forever
    }
  }
}

void ShardedModel::follow() {
  if (is_leader_) throw Error("follow() is for the ranks other than 0");
  rank_->transformer().follow();
}

Transformer& ShardedModel::transformer() {
  return threads_ ? threads_->leader() : rank_->transformer();
}

PagedKvCache& ShardedModel::cache() {
  return threads_ ? threads_->leader_cache() : rank_->cache();
}

void ShardedModel::reset_comm_stats() {
  if (threads_)
    threads_->reset_comm_stats();
  else
    timed_->reset();
}

}  // namespace llm::parallel
