// Memory aligned to a cache line (64 bytes): a buffer's first SIMD load never straddles two lines,
// and two buffers never share one (threads writing to neighbours would bounce it between cores).
//
//   AlignedVector<float> grads(n);                 // a std::vector whose data() is 64-byte aligned
//   AlignedArray<float> acts = aligned_zeros<float>(n, "activations");  // fixed size, zeroed
//
// Running out of memory is a user error here (a model or batch too big for the machine): one
// clear line and exit status 1, not std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "util/check.h"

namespace wiggle {

inline constexpr size_t kCacheLine = 64;

// n bytes rounded up to whole cache lines.
inline size_t round_up_to_line(size_t bytes) {
    return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

// Buffers this big (activations, weights, the KV cache) go on 2 MB pages where the system has
// transparent huge pages for the asking (Linux's "madvise" mode): the kernels stride through them
// a row of a head at a time, each row on its own 4 KB page, and the TLB misses and the prefetchers
// stopping at every page boundary cost attention ~3x in a microbenchmark of that pattern.
inline constexpr size_t kHugePage = size_t{2} << 20;
inline constexpr size_t kHugeAllocation = 2 * kHugePage;

// Allocates whole cache lines (at least one); exits naming `what` when memory runs out.
inline void* aligned_bytes(size_t bytes, std::string_view what) {
    size_t n = round_up_to_line(bytes > 0 ? bytes : 1);
    const bool huge = n >= kHugeAllocation;
    if (huge) n = (n + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(huge ? kHugePage : kCacheLine, n);
    WIGGLE_CHECK(p != nullptr, "use a smaller model or batch",
                 "out of memory allocating {} MB for {}", n >> 20, what);
#if defined(MADV_HUGEPAGE)
    if (huge) madvise(p, n, MADV_HUGEPAGE);  // a hint: without huge pages, 4 KB ones
#endif
    return p;
}

template <class T>
struct AlignedAllocator {
    using value_type = T;
    AlignedAllocator() = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding is implicit
    T* allocate(size_t n) { return static_cast<T*>(aligned_bytes(n * sizeof(T), "a buffer")); }
    void deallocate(T* p, size_t) { std::free(p); }
    template <class U>
    bool operator==(const AlignedAllocator<U>&) const {
        return true;
    }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};
template <class T>
using AlignedArray = std::unique_ptr<T[], FreeDeleter>;

// A zeroed array of n Ts (trivial types only).
template <class T>
AlignedArray<T> aligned_zeros(size_t n, std::string_view what) {
    void* p = aligned_bytes(n * sizeof(T), what);
    std::memset(p, 0, round_up_to_line(n > 0 ? n * sizeof(T) : 1));
    return AlignedArray<T>(static_cast<T*>(p));
}

}  // namespace wiggle
