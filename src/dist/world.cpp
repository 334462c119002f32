// The world of a data-parallel run (world.h): MPI when built with it (WIGGLE_WITH_MPI) and started
// by mpirun, else one process, for which every collective is the identity.
#include "dist/world.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "util/check.h"

#ifdef WIGGLE_WITH_MPI
#include <mpi.h>
#endif

namespace wiggle {

Shards::Shards(size_t n, int ranks, size_t align) : begin_(static_cast<size_t>(ranks) + 1, n) {
    const size_t chunks = (n + align - 1) / align;
    for (int r = 0; r < ranks; ++r) {
        begin_[r] =
            std::min(n, chunks * static_cast<size_t>(r) / static_cast<size_t>(ranks) * align);
    }
}

size_t Shards::largest() const {
    size_t most = 0;
    for (int r = 0; r < ranks(); ++r) most = std::max(most, size(r));
    return most;
}

namespace {

// The size of the job this process was started in by a launcher, or 0 when there is none:
// Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's and PMIx launchers PMI_SIZE.
int launcher_world_size() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
        if (const char* v = std::getenv(name)) return std::atoi(v);
    }
    return 0;
}

#ifdef WIGGLE_WITH_MPI

int g_rank = 0;

// A failing rank ends the job: rank 0 at once; another rank after a moment, so that when every
// rank hits the same error (a bad value they all read) only rank 0's line is printed before
// MPI_Abort brings the others down.
[[noreturn]] void abort_the_job(const std::string& line) {
    if (g_rank != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::fputs(g_rank == 0 ? line.c_str() : fmt::format("rank {}: {}", g_rank, line).c_str(),
               stderr);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, EXIT_FAILURE);
    std::_Exit(EXIT_FAILURE);
}

void finalize() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

int count(size_t n) {
    WIGGLE_CHECK(n <= static_cast<size_t>(INT_MAX), "use more ranks or a smaller model",
                 "{} floats are too many for one MPI message", n);
    return static_cast<int>(n);
}

// Each rank's shard as MPI's counts and displacements.
struct Layout {
    std::vector<int> counts, at;
    explicit Layout(const Shards& shards) {
        for (int r = 0; r < shards.ranks(); ++r) {
            counts.push_back(count(shards.size(r)));
            at.push_back(count(shards.begin(r)));
        }
    }
};

#endif

}  // namespace

World& World::get() {
    static World* world = [] {
        auto* w = new World;  // never destroyed: MPI_Finalize runs at exit
        w->init();
        return w;
    }();
    return *world;
}

void World::init() {
    const int launched = launcher_world_size();
#ifdef WIGGLE_WITH_MPI
    if (launched < 1) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    std::atexit(finalize);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    g_rank = rank_;
    set_failure_handler(abort_the_job);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, static_cast<size_t>(length));
    v = v.substr(0, v.find_first_of(",\n"));
    description_ = fmt::format("{} ranks, {}", size_, v);
#else
    WIGGLE_CHECK(
        launched <= 1, "install Open MPI (scripts/install-deps) and rebuild, or run without mpirun",
        "started by mpirun with {} ranks, but this wiggle was built without MPI", launched);
#endif
}

void World::sum(std::span<float> x, const Shards& shards) {
    if (size_ == 1) return;
    sum_shard(x, shards);
    gather(x, shards);
}

void World::sum_shard(std::span<float> x, const Shards& shards) {
    if (size_ == 1) return;
#ifdef WIGGLE_WITH_MPI
    const size_t mine = shards.size(rank_);
    received_.resize(mine * static_cast<size_t>(size_));
    const Layout send(shards);  // shard r of x to rank r; from every rank, its copy of mine
    std::vector<int> recv_counts(size_, count(mine)), recv_at(size_);
    for (int r = 0; r < size_; ++r) recv_at[r] = count(mine * static_cast<size_t>(r));
    MPI_Alltoallv(x.data(), send.counts.data(), send.at.data(), MPI_FLOAT, received_.data(),
                  recv_counts.data(), recv_at.data(), MPI_FLOAT, MPI_COMM_WORLD);
    // ((g_0 + g_1) + g_2) + ...: the order one process adds its micro-batches in
    float* out = x.data() + shards.begin(rank_);
    std::memcpy(out, received_.data(), mine * sizeof(float));
    for (int r = 1; r < size_; ++r) {
        const float* part = received_.data() + mine * static_cast<size_t>(r);
        for (size_t i = 0; i < mine; ++i) out[i] += part[i];
    }
#else
    (void)x;
    (void)shards;
#endif
}

void World::gather(std::span<float> x, const Shards& shards) {
    if (size_ == 1) return;
#ifdef WIGGLE_WITH_MPI
    const Layout shard(shards);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x.data(), shard.counts.data(),
                   shard.at.data(), MPI_FLOAT, MPI_COMM_WORLD);
#else
    (void)x;
    (void)shards;
#endif
}

void World::gather_to_root(std::span<const float> mine, std::span<float> all,
                           const Shards& shards) {
    if (size_ == 1) {
        std::copy(mine.begin(), mine.end(), all.begin());
        return;
    }
#ifdef WIGGLE_WITH_MPI
    const Layout shard(shards);
    MPI_Gatherv(mine.data(), shard.counts[rank_], MPI_FLOAT, root() ? all.data() : nullptr,
                shard.counts.data(), shard.at.data(), MPI_FLOAT, 0, MPI_COMM_WORLD);
#else
    (void)shards;
#endif
}

void World::scatter_from_root(std::span<const float> all, std::span<float> mine,
                              const Shards& shards) {
    if (size_ == 1) {
        std::copy(all.begin(), all.begin() + static_cast<long>(mine.size()), mine.begin());
        return;
    }
#ifdef WIGGLE_WITH_MPI
    const Layout shard(shards);
    MPI_Scatterv(root() ? all.data() : nullptr, shard.counts.data(), shard.at.data(), MPI_FLOAT,
                 mine.data(), shard.counts[rank_], MPI_FLOAT, 0, MPI_COMM_WORLD);
#else
    (void)shards;
#endif
}

std::vector<double> World::all_gather(std::span<const double> mine) {
    std::vector<double> all(mine.size() * static_cast<size_t>(size_));
    if (size_ == 1) {
        std::copy(mine.begin(), mine.end(), all.begin());
        return all;
    }
#ifdef WIGGLE_WITH_MPI
    MPI_Allgather(mine.data(), count(mine.size()), MPI_DOUBLE, all.data(), count(mine.size()),
                  MPI_DOUBLE, MPI_COMM_WORLD);
#endif
    return all;
}

void World::broadcast(void* data, size_t bytes) {
    if (size_ == 1) return;
#ifdef WIGGLE_WITH_MPI
    MPI_Bcast(data, count(bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)data;
    (void)bytes;
#endif
}

bool World::any(bool flag) {
    if (size_ == 1) return flag;
#ifdef WIGGLE_WITH_MPI
    int mine = flag ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return all != 0;
#else
    return flag;
#endif
}

}  // namespace wiggle
