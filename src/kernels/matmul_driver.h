// The blocked, threaded gemm driver (BLIS loop nest), shared by the three builds of the kernel.
//
// Included by matmul.cpp (portable), matmul_avx2.cpp and matmul_avx512.cpp, each with its own
// microkernel; everything here has internal linkage (anonymous namespace) so the three copies,
// compiled with different instruction sets, never get merged by the linker.
//
// Loop nest, for C (M,N) (+)= op(A) (M,K) · op(B) (K,N):
//   jc over N in NC columns
//     pc over K in KC steps (in order, never split across threads)
//       pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels (k-major), one item per panel
//       C tiles: one item per group of MR-row tiles × NR-column panels, one microkernel call per
//       tile (items are claimed dynamically by the threads of kernels/cpu.h's pool)
//         (op(A) is read in place when its layout suits the broadcast, else packed per MC block)
// N blocks are equal (≤ NC); with several threads the row groups are a balanced partition whose
// count is a multiple of the thread count.
// Every C element is produced by one microkernel call per K block, in K order, whatever the
// thread count and whichever thread runs it: results are bit-identical for any number of threads.
// Not here: split-K, Strassen, fused epilogues.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu.h"
#include "util/aligned.h"

namespace wiggle::kernels::detail {

struct GemmArgs {
    float* C;
    const float* A;
    const float* B;
    int M, N, K;
    bool trans_a, trans_b, accumulate;
    const float* bias = nullptr;  // (N), added to every row; only without accumulate
};

// A cache-line aligned buffer owned by one thread (the gemms' packed panels): grows when needed,
// never shrinks, so the steady state allocates nothing. Running out of memory is one clear line.
template <class T>
struct Scratch {
    T* data = nullptr;
    size_t size = 0;
    T* get(size_t n) {
        if (n > size) {
            std::free(data);
            size = (n + 1023) & ~static_cast<size_t>(1023);
            data = static_cast<T*>(aligned_bytes(size * sizeof(T), "the gemm's packed panels"));
        }
        return data;
    }
    ~Scratch() { std::free(data); }
};

// How the C tiles of one block are cut into items for the pool: rc groups of about
// tiles_per_group row tiles (a balanced partition of the mt tiles) × ngroups groups of pg column
// panels (of np). With several threads, at least 4 items per thread and a multiple of the thread
// count, so that the threads finish together. Shared by the fp32 and the bf16 gemm.
struct TileItems {
    int rc, ngroups, pg;
};
inline TileItems tile_items(int mt, int np, int tiles_per_group, int threads) {
    int rc = (mt + tiles_per_group - 1) / tiles_per_group, ngroups = 1;
    if (threads > 1) {
        const int want = 4 * threads;
        if (rc < want) rc = std::min(mt, want);
        if (rc < want) ngroups = std::min(np, (want + rc - 1) / rc);
        if (rc * ngroups % threads != 0 && rc < mt) {
            rc = std::min(mt, (rc + threads - 1) / threads * threads);
        }
    }
    const int pg = (np + ngroups - 1) / ngroups;
    return {rc, (np + pg - 1) / pg, pg};
}

}  // namespace wiggle::kernels::detail

namespace {

using wiggle::kernels::detail::GemmArgs;

inline wiggle::kernels::detail::Scratch<float>& b_scratch() {
    static thread_local wiggle::kernels::detail::Scratch<float> s;
    return s;
}
inline wiggle::kernels::detail::Scratch<float>& a_scratch() {
    static thread_local wiggle::kernels::detail::Scratch<float> s;
    return s;
}

// The lines of `rows` runs of `floats` floats, `stride` floats apart from `base`, prefetched into
// L2 a few at a time, run after run.
class LinePrefetcher {
  public:
    LinePrefetcher() = default;
    LinePrefetcher(const float* base, long stride, int rows, int floats) : rows_(rows) {
        const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(base) % 64;
        row_ = reinterpret_cast<const char*>(base) - offset;
        stride_ = stride * static_cast<long>(sizeof(float));
        // a run's lines from the line it starts in (one more where runs start at other offsets)
        lines_per_row_ =
            static_cast<int>((offset + floats * sizeof(float) + 63) / 64) + (stride_ % 64 != 0);
    }
    long lines() const { return static_cast<long>(rows_) * lines_per_row_; }
    void prefetch(long n) {
        for (; n > 0 && rows_ > 0; n--) {
            __builtin_prefetch(row_ + line_ * 64, /*rw=*/0, /*locality=*/2);
            if (++line_ == lines_per_row_) {
                line_ = 0;
                row_ += stride_;
                rows_--;
            }
        }
    }

  private:
    const char* row_ = nullptr;
    long stride_ = 0;
    int rows_ = 0, lines_per_row_ = 0, line_ = 0;
};

// How A is read by the microkernel: element (i, k) of the MR-row tile is
//   kColStrided: a[k*ks + i]   (packed panels, ks = MR; or op(A) = Aᵀ read in place, ks = lda)
//   kRowStrided: a[i*rs + k]   (op(A) = A read in place, rs = lda)
enum class AMode { kColStrided, kRowStrided };

// Ker provides:
//   static constexpr int MR, NR, KC, MC, NC;
//   static constexpr bool kPackA;  true: pack each A micro-panel and loop B panels inside it
//                                  false: read A in place, loop A tiles inside each B panel
//   optionally static void pack_a(dst, A, lda, trans_a, i0, m_rows, k0, kc) (see pack_a_panel)
//   template <int MRr, AMode mode> static void tile(int kc, const float* a, long as, const float*
//   b,
//       float* c, long ldc, int n_valid, bool first, const float* bias);
//       C tile (MRr, n_valid) = A tile · B panel (kc, NR) [+ bias (n_valid) on every row] if first,
//       else C tile += A tile · B panel
//   static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
//       int nr_valid);  one panel: dst[k*NR + j] = op(B)[k0+k][j0+j], zero for j >= nr_valid
template <class Ker>
struct Driver {
    static constexpr int MR = Ker::MR, NR = Ker::NR, KC = Ker::KC, MC = Ker::MC, NC = Ker::NC;
    static_assert(MC % MR == 0 && NC % NR == 0);

    template <AMode mode>
    static void tile_dispatch(int m_rows, int kc, const float* a, long as, const float* b, float* c,
                              long ldc, int n_valid, bool first, const float* bias) {
        if (m_rows == MR)
            return Ker::template tile<MR, mode>(kc, a, as, b, c, ldc, n_valid, first, bias);
        dispatch_edge<MR - 1, mode>(m_rows, kc, a, as, b, c, ldc, n_valid, first, bias);
    }
    template <int R, AMode mode>
    static void dispatch_edge(int m_rows, int kc, const float* a, long as, const float* b, float* c,
                              long ldc, int n_valid, bool first, const float* bias) {
        if constexpr (R >= 1) {
            if (m_rows == R)
                return Ker::template tile<R, mode>(kc, a, as, b, c, ldc, n_valid, first, bias);
            dispatch_edge<R - 1, mode>(m_rows, kc, a, as, b, c, ldc, n_valid, first, bias);
        }
    }

    // Packs rows [i0, i0+mc) × cols [k0, k0+kc) of op(A) into MR-row panels (k-major).
    static void pack_a(float* dst, const GemmArgs& g, long lda, int i0, int mc, int k0, int kc) {
        for (int ip = 0; ip < mc; ip += MR) {
            const int mr = std::min(MR, mc - ip);
            float* d = dst + static_cast<long>(ip) * kc;
            if (g.trans_a) {  // op(A)(i,k) = A[k*lda + i]: MR contiguous floats per k
                for (int k = 0; k < kc; k++) {
                    const float* s = g.A + static_cast<long>(k0 + k) * lda + i0 + ip;
                    for (int i = 0; i < mr; i++) d[k * MR + i] = s[i];
                }
            } else {  // op(A)(i,k) = A[i*lda + k]
                for (int i = 0; i < mr; i++) {
                    const float* s = g.A + static_cast<long>(i0 + ip + i) * lda + k0;
                    for (int k = 0; k < kc; k++) d[k * MR + i] = s[k];
                }
            }
        }
    }

    // Packs one MR-row micro-panel (m_rows valid rows) of op(A)[i0.., k0..k0+kc): dst[k*MR + i].
    static void pack_a_panel(float* dst, const GemmArgs& g, long lda, int i0, int m_rows, int k0,
                             int kc) {
        if constexpr (requires { Ker::pack_a(dst, g.A, lda, g.trans_a, i0, m_rows, k0, kc); }) {
            Ker::pack_a(dst, g.A, lda, g.trans_a, i0, m_rows, k0, kc);
        } else {
            pack_a(dst, g, lda, i0, m_rows, k0, kc);
        }
    }

    // The product, as phases of independent items run by up to `threads` threads: per (jc, pc)
    // block, first the B panels are packed (one item per panel), then the C tiles are computed
    // (one item per group of row tiles × column panels). Every C tile of a block is computed by
    // one microkernel call, whichever thread runs its item, so the thread count never changes
    // the bits of the result.
    static void run(const GemmArgs& g, int threads) {
        if (g.M <= 0 || g.N <= 0) return;
        if (g.K <= 0) {  // empty sum
            if (!g.accumulate) {
                for (int i = 0; i < g.M; i++) {
                    float* row = g.C + static_cast<long>(i) * g.N;
                    if (g.bias) {
                        std::memcpy(row, g.bias, sizeof(float) * g.N);
                    } else {
                        std::memset(row, 0, sizeof(float) * g.N);
                    }
                }
            }
            return;
        }
        const long lda = g.trans_a ? g.M : g.K;
        const long ldb = g.trans_b ? g.K : g.N;
        const long ldc = g.N;
        const int mt = (g.M + MR - 1) / MR;  // row tiles
        // op(A) is read in place unless the kernel packs it, or its rows alias in L1 (stride a
        // multiple of 4 KiB).
        const bool pack_a_needed = Ker::kPackA || (lda % 1024) == 0;
        // N in equal blocks of at most NC columns (whole panels): no thin last block whose
        // every A micro-panel would be packed for a few tiles only
        const int nblocks = (g.N + NC - 1) / NC;
        const int ncb = ((g.N + nblocks - 1) / nblocks + NR - 1) / NR * NR;
        float* Bp = b_scratch().get(static_cast<size_t>(ncb) * std::min(KC, g.K));
        for (int jc = 0; jc < g.N; jc += ncb) {
            const int nc = std::min(ncb, g.N - jc);
            const int np = (nc + NR - 1) / NR;  // column panels
            namespace d = wiggle::kernels::detail;
            const d::TileItems items = d::tile_items(mt, np, MC / MR, threads);
            const int rc = items.rc, ngroups = items.ngroups, pg = items.pg;
            for (int pc = 0; pc < g.K; pc += KC) {
                const int kc = std::min(KC, g.K - pc);
                const bool first = pc == 0 && !g.accumulate;
                if (g.trans_b) {  // one item per panel: NR rows of B, kc contiguous floats each
                    auto pack = [&](int p) {
                        Ker::pack_b(Bp + static_cast<long>(p) * kc * NR, g.B, ldb, true, pc, kc,
                                    jc + p * NR, std::min(NR, nc - p * NR));
                    };
                    wiggle::kernels::parallel_items(np, threads, pack);
                } else {
                    // one item per 16 rows of B, all panels: each row read in order (panel by
                    // panel, a row of a large B is a page of its own, which the hardware
                    // prefetcher does not follow)
                    auto pack = [&](int item) {
                        const int k0 = item * 16, kn = std::min(16, kc - k0);
                        for (int p = 0; p < np; p++) {
                            Ker::pack_b(Bp + static_cast<long>(p) * kc * NR + k0 * NR, g.B, ldb,
                                        false, pc + k0, kn, jc + p * NR, std::min(NR, nc - p * NR));
                        }
                    };
                    wiggle::kernels::parallel_items((kc + 15) / 16, threads, pack);
                }
                auto compute = [&](int item) {
                    const int rg = item / ngroups;
                    const int r0 = static_cast<int>(static_cast<long>(mt) * rg / rc);
                    const int r1 = static_cast<int>(static_cast<long>(mt) * (rg + 1) / rc);
                    const int q0 = (item % ngroups) * pg, q1 = std::min(q0 + pg, np);
                    compute_tiles(g, lda, ldc, Bp, jc, nc, pc, kc, first, r0, r1, q0, q1,
                                  pack_a_needed);
                };
                wiggle::kernels::parallel_items(rc * ngroups, threads, compute);
            }
        }
    }

    static const float* tile_bias(const GemmArgs& g, bool first, int j) {
        return first && g.bias ? g.bias + j : nullptr;
    }

    // C tiles of row tiles [r0, r1) × panels [q0, q1) of block (jc, pc).
    static void compute_tiles(const GemmArgs& g, long lda, long ldc, const float* Bp, int jc,
                              int nc, int pc, int kc, bool first, int r0, int r1, int q0, int q1,
                              bool pack_a_needed) {
        if constexpr (Ker::kPackA) {
            // The A micro-panels of up to MC rows packed together (into L2), then each in turn
            // kept in L1 while the B panels of the block (in L2) stream past it. Packing a group
            // at once reads A with more misses in flight than one micro-panel at a time between
            // tiles (which matters most for op(A) = Aᵀ with a long row stride).
            float* Ap = a_scratch().get(static_cast<size_t>(MC) * KC);
            for (int rg = r0; rg < r1; rg += MC / MR) {
                const int rg1 = std::min(rg + MC / MR, r1);
                if (g.trans_a) {
                    // op(A) = Aᵀ: every k is a row of A, MR floats of it per micro-panel; the
                    // micro-panels of the group are packed k block by k block so that each line
                    // of A is read once, while in L1
                    for (int kb = 0; kb < kc; kb += 16) {
                        const int kn = std::min(16, kc - kb);
                        for (int r = rg; r < rg1; r++) {
                            const int i = r * MR;
                            pack_a_panel(Ap + static_cast<long>(r - rg) * MR * kc + kb * MR, g, lda,
                                         i, std::min(MR, g.M - i), pc + kb, kn);
                        }
                    }
                } else {
                    for (int r = rg; r < rg1; r++) {
                        const int i = r * MR;
                        pack_a_panel(Ap + static_cast<long>(r - rg) * MR * kc, g, lda, i,
                                     std::min(MR, g.M - i), pc, kc);
                    }
                }
                // A large op(A) comes from memory, and packing waits for each line. So while
                // this group's tiles run, the lines of the next group's rows (the next item's,
                // run next by the same thread) are prefetched, a few per tile.
                const int next0 = rg1 * MR, next_rows = std::min(MC, g.M - next0);
                LinePrefetcher next;
                if (next_rows > 0) {
                    next = g.trans_a ? LinePrefetcher(g.A + pc * lda + next0, lda, kc, next_rows)
                                     : LinePrefetcher(g.A + next0 * lda + pc, lda, next_rows, kc);
                }
                const int tiles = (rg1 - rg) * (q1 - q0);
                const long per_tile = (next.lines() + tiles - 1) / tiles;
                for (int r = rg; r < rg1; r++) {
                    const int i = r * MR;
                    const int m_rows = std::min(MR, g.M - i);
                    const float* ap = Ap + static_cast<long>(r - rg) * MR * kc;
                    float* c = g.C + i * ldc + jc;
                    for (int q = q0; q < q1; q++) {
                        next.prefetch(per_tile);
                        tile_dispatch<AMode::kColStrided>(
                            m_rows, kc, ap, MR, Bp + static_cast<long>(q) * kc * NR, c + q * NR,
                            ldc, std::min(NR, nc - q * NR), first,
                            tile_bias(g, first, jc + q * NR));
                    }
                }
            }
            return;
        }
        // A read in place (or packed per MC rows if its stride aliases), B panel held in L1
        // while the A tiles stream past.
        float* Ap = pack_a_needed ? a_scratch().get(static_cast<size_t>(MC) * KC) : nullptr;
        for (int ic = r0; ic < r1; ic += MC / MR) {
            const int ic1 = std::min(ic + MC / MR, r1);
            const int i0 = ic * MR;
            const int mc = std::min(ic1 * MR, g.M) - i0;
            if (pack_a_needed) pack_a(Ap, g, lda, i0, mc, pc, kc);
            for (int q = q0; q < q1; q++) {
                const float* bp = Bp + static_cast<long>(q) * kc * NR;
                const int n_valid = std::min(NR, nc - q * NR);
                const float* bias = tile_bias(g, first, jc + q * NR);
                float* cq = g.C + jc + q * NR;
                for (int r = ic; r < ic1; r++) {
                    const int i = r * MR;
                    const int m_rows = std::min(MR, g.M - i);
                    float* c = cq + i * ldc;
                    if (pack_a_needed) {
                        tile_dispatch<AMode::kColStrided>(m_rows, kc,
                                                          Ap + static_cast<long>(i - i0) * kc, MR,
                                                          bp, c, ldc, n_valid, first, bias);
                    } else if (g.trans_a) {
                        tile_dispatch<AMode::kColStrided>(m_rows, kc, g.A + pc * lda + i, lda, bp,
                                                          c, ldc, n_valid, first, bias);
                    } else {
                        tile_dispatch<AMode::kRowStrided>(m_rows, kc, g.A + i * lda + pc, lda, bp,
                                                          c, ldc, n_valid, first, bias);
                    }
                }
            }
        }
    }
};

}  // namespace
