// CPython's `random` module, bit for bit: the same Mersenne Twister, the same seeding of integer
// seeds (random.seed(n)), and the same algorithms on top of it, so a ladder program seeded like
// the article's Python prints the article's numbers.
//
//   PyRandom rng(1);
//   rng.uniform(-1, 1);   // -0.7312715117751976, as Python's random.seed(1); random.uniform(-1, 1)
//
// reference: CPython Modules/_randommodule.c and Lib/random.py (3.11).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace wiggle {

class PyRandom {
  public:
    explicit PyRandom(uint64_t seed = 0) { seed_with(seed); }
    void seed_with(uint64_t seed);  // random.seed(n), n >= 0

    uint32_t next_u32();                                // genrand_uint32
    double random();                                    // [0, 1), 53 bits
    double uniform(double a, double b);                 // a + (b - a) * random()
    double gauss(double mu = 0.0, double sigma = 1.0);  // Box-Muller with the cached second value
    uint64_t getrandbits(int k);                        // 0 < k <= 64
    uint64_t randbelow(uint64_t n);                     // _randbelow_with_getrandbits, n > 0
    int64_t randint(int64_t a, int64_t b);              // a <= x <= b
    template <typename T>
    void shuffle(std::span<T> x) {  // Fisher-Yates from the end, as random.shuffle
        for (size_t i = x.size(); i-- > 1;) std::swap(x[i], x[randbelow(i + 1)]);
    }
    template <typename T>
    void shuffle(std::vector<T>& x) {
        shuffle(std::span<T>(x));
    }
    template <typename T>
    const T& choice(std::span<const T> x) {
        return x[randbelow(x.size())];
    }
    template <typename T>
    const T& choice(const std::vector<T>& x) {
        return x[randbelow(x.size())];
    }

    // The whole generator state, to save in a checkpoint and restore exactly.
    struct State {
        std::array<uint32_t, 624> mt;
        int index;
        bool has_gauss_next;
        double gauss_next;
    };
    State state() const;
    void set_state(const State& s);

  private:
    std::array<uint32_t, 624> mt_{};
    int index_ = 625;
    bool has_gauss_next_ = false;
    double gauss_next_ = 0.0;
};

}  // namespace wiggle
