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

#include "util/check.h"

namespace wiggle {

inline constexpr size_t kCacheLine = 64;

// n bytes rounded up to whole cache lines.
inline size_t round_up_to_line(size_t bytes) {
    return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

// Allocates whole cache lines (at least one); exits naming `what` when memory runs out.
inline void* aligned_bytes(size_t bytes, std::string_view what) {
    const size_t n = round_up_to_line(bytes > 0 ? bytes : 1);
    void* p = std::aligned_alloc(kCacheLine, n);
    WIGGLE_CHECK(p != nullptr, "use a smaller model or batch",
                 "out of memory allocating {} MB for {}", n >> 20, what);
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
