// The fp32 gemm's WebAssembly SIMD128 microkernel (the browser build only; compiled to nothing
// elsewhere). Same bits as matmul.cpp's GenericKernel, which stays the readable portable version.
//
// Why a kernel of its own: clang's vectorization of GenericKernel reads A in place, four rows at
// four strides, and WebAssembly has no scaled-index addressing, so V8 computes every A element's
// address in the inner loop; its packing loops are scalar. Here A is packed into 4-row k-major
// micro-panels, so each k is four load-splats (`v128.load32_splat`, one vbroadcastss in V8) at
// constant offsets from one pointer and two loads of B's 8-wide row: 8 accumulators + 2 B
// vectors + a broadcast and a product = 12 of the 15 xmm registers V8 may use on x86-64 (a 6×8
// or 4×12 tile needs 16 or more). V8 unrolls the k loop itself; unrolling it here as well made it
// slower (bench/RESULTS.md). The packing is SIMD too (4×4 transposes by shuffles). The multiplies
// and adds are as many as GenericKernel's (no FMA), so the gain is the overhead around them.
//
// The arithmetic is GenericKernel's, in the same order, so the page matches the native portable
// build bit for bit (tests/kernels/matmul_portable_test.cpp, run under node by scripts/test-web):
// each C element's sum starts at +0, adds a·b (a multiply, then an add: SIMD128 has no FMA, and
// relaxed SIMD's would change the bits) in k order within each K block of kGemmPortableKc, then
// C = sum (+ bias) or C += sum.
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "kernels/matmul.h"
#include "kernels/matmul_driver.h"
#include "kernels/simd.h"

namespace wiggle::kernels {

namespace {

using generic::transpose4;  // kernels/simd.h

// dst[k*4 + i] = src_i[k] for k < kc, four rows read along k (4×4 blocks transposed).
inline void pack_rows4(float* dst, const float* s0, const float* s1, const float* s2,
                       const float* s3, int kc) {
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        v128_t r0 = wasm_v128_load(s0 + k), r1 = wasm_v128_load(s1 + k);
        v128_t r2 = wasm_v128_load(s2 + k), r3 = wasm_v128_load(s3 + k);
        transpose4(r0, r1, r2, r3);
        wasm_v128_store(dst + k * 4, r0);
        wasm_v128_store(dst + k * 4 + 4, r1);
        wasm_v128_store(dst + k * 4 + 8, r2);
        wasm_v128_store(dst + k * 4 + 12, r3);
    }
    for (; k < kc; k++) {
        dst[k * 4] = s0[k];
        dst[k * 4 + 1] = s1[k];
        dst[k * 4 + 2] = s2[k];
        dst[k * 4 + 3] = s3[k];
    }
}

struct WasmKernel {
    static constexpr int MR = 4, NR = 8;
    // NC: a block of packed B (KC × NC floats, 512 KiB) stays in L2 while every A micro-panel
    // of the block streams it.
    static constexpr int KC = kGemmPortableKc, MC = 64, NC = 512;
    static constexpr bool kPackA = true;

    template <int MRr, AMode mode>
    static void tile(int kc, const float* a, long as, const float* b, float* c, long ldc,
                     int n_valid, bool first, const float* bias) {
        // element (i, k) of A is a[i*ai + k*ak] (always packed here: ai = 1, ak = as = MR)
        const long ai = mode == AMode::kRowStrided ? as : 1,
                   ak = mode == AMode::kRowStrided ? 1 : as;
        v128_t lo[MRr], hi[MRr];  // columns 0-3 and 4-7 of row i
        for (int i = 0; i < MRr; i++) lo[i] = hi[i] = wasm_f32x4_splat(0.0f);
        // The loop ends on B's pointer, not a count: V8 then keeps no counter beside the two
        // pointers, one add and a compare with a spilled bound less per k (bench/RESULTS.md).
        for (const float* const b_end = b + static_cast<long>(kc) * NR; b != b_end;) {
            const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
            for (int i = 0; i < MRr; i++) {
                const v128_t av = wasm_v128_load32_splat(a + i * ai);
                lo[i] = wasm_f32x4_add(lo[i], wasm_f32x4_mul(av, b0));
                hi[i] = wasm_f32x4_add(hi[i], wasm_f32x4_mul(av, b1));
            }
            a += ak;
            b += NR;
        }
        for (int i = 0; i < MRr; i++) {
            float* p = c + i * ldc;
            if (n_valid == NR) {
                v128_t r0 = lo[i], r1 = hi[i];
                if (!first) {
                    r0 = wasm_f32x4_add(wasm_v128_load(p), r0);
                    r1 = wasm_f32x4_add(wasm_v128_load(p + 4), r1);
                } else if (bias) {
                    r0 = wasm_f32x4_add(r0, wasm_v128_load(bias));
                    r1 = wasm_f32x4_add(r1, wasm_v128_load(bias + 4));
                }
                wasm_v128_store(p, r0);
                wasm_v128_store(p + 4, r1);
            } else {
                float acc[NR];
                wasm_v128_store(acc, lo[i]);
                wasm_v128_store(acc + 4, hi[i]);
                for (int j = 0; j < n_valid; j++) {
                    p[j] = !first ? p[j] + acc[j] : bias ? acc[j] + bias[j] : acc[j];
                }
            }
        }
    }

    // One micro-panel: dst[k*MR + i] = op(A)[i0+i][k0+k] for the m_rows valid rows (the other
    // lanes are never read: tile<m_rows> splats only its rows).
    static void pack_a(float* dst, const float* A, long lda, bool trans_a, int i0, int m_rows,
                       int k0, int kc) {
        if (trans_a) {  // op(A)(i,k) = A[k*lda + i]: MR contiguous floats per k
            const float* s = A + static_cast<long>(k0) * lda + i0;
            for (int k = 0; k < kc; k++, s += lda) {
                if (m_rows == MR) {
                    wasm_v128_store(dst + k * MR, wasm_v128_load(s));
                } else {
                    for (int i = 0; i < m_rows; i++) dst[k * MR + i] = s[i];
                }
            }
            return;
        }
        const float* s = A + static_cast<long>(i0) * lda + k0;  // op(A)(i,k) = A[i*lda + k]
        if (m_rows == MR) return pack_rows4(dst, s, s + lda, s + 2 * lda, s + 3 * lda, kc);
        for (int i = 0; i < m_rows; i++) {
            for (int k = 0; k < kc; k++) dst[k * MR + i] = s[i * lda + k];
        }
    }

    // One panel: dst[k*NR + j] = op(B)[k0+k][j0+j], zero for j >= nr_valid.
    static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
                       int nr_valid) {
        if (nr_valid == NR && !trans_b) {
            const float* s = B + static_cast<long>(k0) * ldb + j0;
            for (int k = 0; k < kc; k++, s += ldb) {
                wasm_v128_store(dst + k * NR, wasm_v128_load(s));
                wasm_v128_store(dst + k * NR + 4, wasm_v128_load(s + 4));
            }
            return;
        }
        if (nr_valid == NR) {  // op(B)[k][j] = B[j*ldb + k]: rows of B read along k, transposed
            const float* s = B + static_cast<long>(j0) * ldb + k0;
            int k = 0;
            for (; k + 4 <= kc; k += 4) {
                for (int h = 0; h < 2; h++) {  // columns 4h..4h+3
                    const float* r = s + 4 * h * ldb + k;
                    v128_t r0 = wasm_v128_load(r), r1 = wasm_v128_load(r + ldb);
                    v128_t r2 = wasm_v128_load(r + 2 * ldb), r3 = wasm_v128_load(r + 3 * ldb);
                    transpose4(r0, r1, r2, r3);
                    float* d = dst + k * NR + 4 * h;
                    wasm_v128_store(d, r0);
                    wasm_v128_store(d + NR, r1);
                    wasm_v128_store(d + 2 * NR, r2);
                    wasm_v128_store(d + 3 * NR, r3);
                }
            }
            for (; k < kc; k++) {
                for (int j = 0; j < NR; j++) dst[k * NR + j] = s[j * ldb + k];
            }
            return;
        }
        for (int k = 0; k < kc; k++) {
            for (int j = 0; j < NR; j++) {
                dst[k * NR + j] = j >= nr_valid ? 0.0f
                                  : trans_b     ? B[(j0 + j) * ldb + k0 + k]
                                                : B[(k0 + k) * ldb + j0 + j];
            }
        }
    }
};

}  // namespace

namespace detail {
void gemm_wasm(const GemmArgs& g, int threads) { Driver<WasmKernel>::run(g, threads); }
}  // namespace detail

}  // namespace wiggle::kernels

#endif  // __wasm_simd128__
