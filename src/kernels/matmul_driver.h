// The blocked, threaded gemm driver (BLIS loop nest), shared by the three builds of the kernel.
//
// Included by matmul.cpp (portable), matmul_avx2.cpp and matmul_avx512.cpp, each with its own
// microkernel; everything here has internal linkage (anonymous namespace) so the three copies,
// compiled with different instruction sets, never get merged by the linker.
//
// Loop nest, for C (M,N) (+)= op(A) (M,K) · op(B) (K,N):
//   jc over N in NC columns
//     pc over K in KC steps (in order, never split across threads)
//       pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels (k-major), threads share the work
//       each thread: its MR-row tiles × its NR-column panels, one microkernel call per tile
//         (op(A) is read in place when its layout suits the broadcast, else packed per MC block)
// Every C element is produced by one microkernel call per K block, in K order, whatever the
// thread count and whichever thread runs it: results are bit-identical for any number of threads.
// Not here: split-K, Strassen, fused epilogues.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace wiggle::kernels::detail {

struct GemmArgs {
    float* C;
    const float* A;
    const float* B;
    int M, N, K;
    bool trans_a, trans_b, accumulate;
};

}  // namespace wiggle::kernels::detail

namespace {

using wiggle::kernels::detail::GemmArgs;

// A 64-byte aligned buffer owned by one thread: grows when needed, never shrinks, so the steady
// state allocates nothing.
struct Scratch {
    float* data = nullptr;
    size_t size = 0;
    float* get(size_t n) {
        if (n > size) {
            std::free(data);
            size = (n + 1023) & ~static_cast<size_t>(1023);
            data = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
        }
        return data;
    }
    ~Scratch() { std::free(data); }
};

inline Scratch& b_scratch() {
    static thread_local Scratch s;
    return s;
}
inline Scratch& a_scratch() {
    static thread_local Scratch s;
    return s;
}

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
//       float* c, long ldc, int n_valid, bool first);
//       C tile (MRr, n_valid) = / += A tile · B panel (kc, NR)
//   static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
//       int nr_valid);  one panel: dst[k*NR + j] = op(B)[k0+k][j0+j], zero for j >= nr_valid
template <class Ker>
struct Driver {
    static constexpr int MR = Ker::MR, NR = Ker::NR, KC = Ker::KC, MC = Ker::MC, NC = Ker::NC;
    static_assert(MC % MR == 0 && NC % NR == 0);

    template <AMode mode>
    static void tile_dispatch(int m_rows, int kc, const float* a, long as, const float* b, float* c,
                              long ldc, int n_valid, bool first) {
        if (m_rows == MR) return Ker::template tile<MR, mode>(kc, a, as, b, c, ldc, n_valid, first);
        dispatch_edge<MR - 1, mode>(m_rows, kc, a, as, b, c, ldc, n_valid, first);
    }
    template <int R, AMode mode>
    static void dispatch_edge(int m_rows, int kc, const float* a, long as, const float* b, float* c,
                              long ldc, int n_valid, bool first) {
        if constexpr (R >= 1) {
            if (m_rows == R)
                return Ker::template tile<R, mode>(kc, a, as, b, c, ldc, n_valid, first);
            dispatch_edge<R - 1, mode>(m_rows, kc, a, as, b, c, ldc, n_valid, first);
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

    // One thread's share of the whole product. nt threads run this together (tid 0..nt-1).
    static void thread_body(const GemmArgs& g, float* Bp, int tid, int nt) {
        const long lda = g.trans_a ? g.M : g.K;
        const long ldb = g.trans_b ? g.K : g.N;
        const long ldc = g.N;
        const int mt = (g.M + MR - 1) / MR;  // row tiles
        // op(A) read in place unless its rows alias in L1 (stride a multiple of 4 KiB) or the
        // transposed layout would stride across more lines than the packed one.
        const bool pack_a_needed = Ker::kPackA || (lda % 1024) == 0;
        float* Ap = pack_a_needed ? a_scratch().get(static_cast<size_t>(MC) * KC) : nullptr;
        bool barrier_before_pack = false;
        for (int jc = 0; jc < g.N; jc += NC) {
            const int nc = std::min(NC, g.N - jc);
            const int np = (nc + NR - 1) / NR;  // column panels
            // Split the tiles: by rows when there are enough of them, else by column panels.
            int r0 = 0, r1 = mt, q0 = 0, q1 = np;
            if (nt > 1) {
                if (mt >= 2 * nt || mt >= np) {
                    r0 = static_cast<int>(static_cast<long>(mt) * tid / nt);
                    r1 = static_cast<int>(static_cast<long>(mt) * (tid + 1) / nt);
                } else {
                    q0 = static_cast<int>(static_cast<long>(np) * tid / nt);
                    q1 = static_cast<int>(static_cast<long>(np) * (tid + 1) / nt);
                }
            }
            for (int pc = 0; pc < g.K; pc += KC) {
                const int kc = std::min(KC, g.K - pc);
                const bool first = pc == 0 && !g.accumulate;
                if (nt > 1 && barrier_before_pack) {
#pragma omp barrier
                }
                barrier_before_pack = true;
                {
                    const int p0 = static_cast<int>(static_cast<long>(np) * tid / nt);
                    const int p1 = static_cast<int>(static_cast<long>(np) * (tid + 1) / nt);
                    for (int p = p0; p < p1; p++) {
                        Ker::pack_b(Bp + static_cast<long>(p) * kc * NR, g.B, ldb, g.trans_b, pc,
                                    kc, jc + p * NR, std::min(NR, nc - p * NR));
                    }
                }
                if (nt > 1) {
#pragma omp barrier
                }
                if constexpr (Ker::kPackA) {
                    // A micro-panel packed right before use, then kept in L1 while every B panel
                    // of the block (in L2) streams past it.
                    for (int r = r0; r < r1; r++) {
                        const int i = r * MR;
                        const int m_rows = std::min(MR, g.M - i);
                        pack_a_panel(Ap, g, lda, i, m_rows, pc, kc);
                        float* c = g.C + i * ldc + jc;
                        for (int q = q0; q < q1; q++) {
                            tile_dispatch<AMode::kColStrided>(
                                m_rows, kc, Ap, MR, Bp + static_cast<long>(q) * kc * NR, c + q * NR,
                                ldc, std::min(NR, nc - q * NR), first);
                        }
                    }
                    continue;
                }
                for (int ic = r0; ic < r1; ic += MC / MR) {
                    const int ic1 = std::min(ic + MC / MR, r1);
                    const int i0 = ic * MR;
                    const int mc = std::min(ic1 * MR, g.M) - i0;
                    if (pack_a_needed) pack_a(Ap, g, lda, i0, mc, pc, kc);
                    for (int q = q0; q < q1; q++) {
                        const float* bp = Bp + static_cast<long>(q) * kc * NR;
                        const int n_valid = std::min(NR, nc - q * NR);
                        float* cq = g.C + jc + q * NR;
                        for (int r = ic; r < ic1; r++) {
                            const int i = r * MR;
                            const int m_rows = std::min(MR, g.M - i);
                            float* c = cq + i * ldc;
                            if (pack_a_needed) {
                                tile_dispatch<AMode::kColStrided>(
                                    m_rows, kc, Ap + static_cast<long>(i - i0) * kc, MR, bp, c, ldc,
                                    n_valid, first);
                            } else if (g.trans_a) {
                                tile_dispatch<AMode::kColStrided>(m_rows, kc, g.A + pc * lda + i,
                                                                  lda, bp, c, ldc, n_valid, first);
                            } else {
                                tile_dispatch<AMode::kRowStrided>(m_rows, kc, g.A + i * lda + pc,
                                                                  lda, bp, c, ldc, n_valid, first);
                            }
                        }
                    }
                }
            }
        }
    }

    static void run(const GemmArgs& g, int threads) {
        if (g.M <= 0 || g.N <= 0) return;
        if (g.K <= 0) {  // empty sum
            if (!g.accumulate) {
                for (int i = 0; i < g.M; i++)
                    std::memset(g.C + static_cast<long>(i) * g.N, 0, sizeof(float) * g.N);
            }
            return;
        }
        const int np = (std::min(NC, g.N) + NR - 1) / NR;
        float* Bp = b_scratch().get(static_cast<size_t>(np) * NR * std::min(KC, g.K));
        if (threads <= 1) return thread_body(g, Bp, 0, 1);
#pragma omp parallel num_threads(threads)
        thread_body(g, Bp, omp_get_thread_num(), omp_get_num_threads());
    }
};

}  // namespace
