// CPython's Mersenne Twister and the Lib/random.py algorithms on top of it, transcribed so that
// every number matches CPython 3.11 bit for bit. Not a general-purpose or fast RNG.
//
// reference: CPython Modules/_randommodule.c (init_genrand, init_by_array, genrand_uint32,
// random_seed, _random_Random_getrandbits_impl) and Lib/random.py (uniform, gauss,
// _randbelow_with_getrandbits, randrange, shuffle, choice).
#include "util/py_random.h"

#include <cassert>
#include <cmath>
#include <numbers>

namespace wiggle {

namespace {

constexpr int kN = 624;
constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;

void init_genrand(std::array<uint32_t, 624>& mt, uint32_t s) {
    mt[0] = s;
    for (int i = 1; i < kN; ++i) {
        mt[i] = 1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<uint32_t>(i);
    }
}

void init_by_array(std::array<uint32_t, 624>& mt, const uint32_t* key, size_t key_length) {
    init_genrand(mt, 19650218U);
    size_t i = 1, j = 0;
    for (size_t k = (kN > key_length ? kN : key_length); k; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) + key[j] +
                static_cast<uint32_t>(j);  // non linear
        ++i;
        ++j;
        if (i >= kN) {
            mt[0] = mt[kN - 1];
            i = 1;
        }
        if (j >= key_length) j = 0;
    }
    for (size_t k = kN - 1; k; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) -
                static_cast<uint32_t>(i);  // non linear
        ++i;
        if (i >= kN) {
            mt[0] = mt[kN - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000U;  // MSB is 1, assuring a non-zero initial array
}

int bit_length(uint64_t n) {
    int k = 0;
    while (n != 0) {
        ++k;
        n >>= 1;
    }
    return k;
}

}  // namespace

void PyRandom::seed_with(uint64_t seed) {
    // random.seed(n): abs(n) cut into 32-bit words, least significant first; 0 gives the key [0].
    uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    const size_t key_length = (seed >> 32) != 0 ? 2 : 1;
    init_by_array(mt_, key, key_length);
    index_ = kN;
    has_gauss_next_ = false;
    gauss_next_ = 0.0;
}

uint32_t PyRandom::next_u32() {
    static constexpr uint32_t mag01[2] = {0x0U, kMatrixA};
    if (index_ >= kN) {  // generate N words at one time
        int kk = 0;
        uint32_t y;
        for (; kk < kN - kM; ++kk) {
            y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
            mt_[kk] = mt_[kk + kM] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        for (; kk < kN - 1; ++kk) {
            y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
            mt_[kk] = mt_[kk + (kM - kN)] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        y = (mt_[kN - 1] & kUpperMask) | (mt_[0] & kLowerMask);
        mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
        index_ = 0;
    }
    uint32_t y = mt_[index_++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

double PyRandom::random() {
    const uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

double PyRandom::uniform(double a, double b) { return a + (b - a) * random(); }

double PyRandom::gauss(double mu, double sigma) {
    // Box-Muller; the second value of each pair is kept for the next call (not thread-safe, as in
    // CPython).
    double z;
    if (has_gauss_next_) {
        z = gauss_next_;
        has_gauss_next_ = false;
    } else {
        const double x2pi = random() * (2.0 * std::numbers::pi);
        const double g2rad = std::sqrt(-2.0 * std::log(1.0 - random()));
        z = std::cos(x2pi) * g2rad;
        gauss_next_ = std::sin(x2pi) * g2rad;
        has_gauss_next_ = true;
    }
    return mu + z * sigma;
}

uint64_t PyRandom::getrandbits(int k) {
    assert(k >= 0 && k <= 64);
    if (k == 0) return 0;
    if (k <= 32) return next_u32() >> (32 - k);
    // Words are filled least significant first; the last one keeps its top bits.
    const uint64_t low = next_u32();
    const uint64_t high = next_u32() >> (64 - k);
    return low | (high << 32);
}

uint64_t PyRandom::randbelow(uint64_t n) {
    assert(n > 0);
    const int k = bit_length(n);  // not (n-1): n may be 1
    uint64_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
}

int64_t PyRandom::randint(int64_t a, int64_t b) {
    assert(a <= b);
    const uint64_t width = static_cast<uint64_t>(b) - static_cast<uint64_t>(a) + 1;
    return static_cast<int64_t>(static_cast<uint64_t>(a) + randbelow(width));
}

PyRandom::State PyRandom::state() const { return State{mt_, index_, has_gauss_next_, gauss_next_}; }

void PyRandom::set_state(const State& s) {
    mt_ = s.mt;
    index_ = s.index;
    has_gauss_next_ = s.has_gauss_next;
    gauss_next_ = s.gauss_next;
}

}  // namespace wiggle
