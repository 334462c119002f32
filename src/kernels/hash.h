// SplitMix64-based counter hash shared by dropout and attention dropout (internal to the kernels).
// hash_uniform(seed, i) = top 24 bits of mix(mix(seed) + i) / 2²⁴; the key mix(seed) is hoisted.
#pragma once

#include <cstdint>

namespace wiggle::kernels {

static inline uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t hash_key(uint64_t seed) { return splitmix64(seed); }

static inline float hash_uniform_keyed(uint64_t key, uint64_t index) {
    return static_cast<float>(splitmix64(key + index) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace wiggle::kernels

namespace wiggle::kernels {

// Attention dropout: one key per (seed, b, h), then one hash per (query, key) position.
static inline uint64_t attention_dropout_key(uint64_t seed, int b, int h) {
    return hash_key(hash_key(seed) + ((static_cast<uint64_t>(b) << 32) | static_cast<uint32_t>(h)));
}
static inline bool attention_keep_keyed(uint64_t key, int tq, int tk, float dropout) {
    return hash_uniform_keyed(key, (static_cast<uint64_t>(tq) << 32) | static_cast<uint32_t>(tk)) >=
           dropout;
}

}  // namespace wiggle::kernels
