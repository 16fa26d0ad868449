// Decode linear layers: y[B, N] = x[B, K] · Wᵀ for small batches (1 ≤ B ≤ 16), the weight streamed once.
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
//   gemv_bf16_b<BB>   W [N, K] bf16 row-major.
//   gemv_w8a16_b<BB>  W [N, K] int8 with one float scale per output row (per-channel, symmetric).
//   gemv_w4a16_b<BB>  W [N, K/2] bytes, two 4-bit values per byte (element 2i in the low nibble), one float
//                     scale per group of 128 along K ([N, K/128]); symmetric (value = (q − 8) · scale) when
//                     zeros is null, else asymmetric with a uint8 zero point per group (value = (q − z) · scale).
// x and y are bf16 [B, K] and [B, N]; BB is the batch bucket (1, 2, 4, 8, 16): the kernel serves any B ≤ BB.
// Rows per warp: 1 (bf16), 2 (w8a16), 4 (w4a16); a CTA has 8 warps.
// Requirements the Java launchers check: K % 8 == 0 (bf16), K % 16 == 0 (int8), K % 128 == 0 (int4).
//   gemv_bf16_fused_b<BB>, gemv_bf16_tc_fused, gemv_bf16_tc32_fused: the BF16 kernels with an RMSNorm prologue
//                     and a store / residual-add / SwiGLU epilogue (see EPI_* below): what a decode step's
//                     linear layers need, so a layer runs in 6 launches instead of 15.
//
// Why: at small B every weight byte is used B times only, so these are bandwidth-bound; what matters is
// reading W at full HBM speed. One warp per output row, each lane reading 16 contiguous bytes per step
// (a warp covers 512 bytes of the row), 4 steps' loads issued before use (bytes in flight), x re-read from
// L1/L2 (it is tiny), FP32 accumulation, one warp reduction per row at the end. Integer weights become floats
// through the 2^23 mantissa trick (one bit operation and one add) rather than int-to-float conversions, which
// run at a quarter of the FP32 rate on Hopper and made v1 of the INT4 kernel compute-bound (29% of bandwidth).
#include <cuda_bf16.h>
#include <stdint.h>

#include "../common/mma.cuh"
#include "../common/wgmma.cuh"

namespace {

constexpr int WARPS = 8;
constexpr int U = 4;
constexpr int W8_ROWS = 2;  // output rows per warp (the launcher sizes the grid to match)
constexpr int W4_ROWS = 4;

__device__ __forceinline__ void bf8(const uint4& v, float* f) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 p = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w[i]));
        f[2 * i] = p.x;
        f[2 * i + 1] = p.y;
    }
}

__device__ __forceinline__ float warpSum(float s) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    return s;
}

template <int BB>
__device__ void store(float (&acc)[BB], __nv_bfloat16* y, int n, int N, int B, float scale) {
#pragma unroll
    for (int b = 0; b < BB; b++) {
        const float s = warpSum(acc[b]);
        if (b < B && threadIdx.x % 32 == 0) y[(long long)b * N + n] = __float2bfloat16(s * scale);
    }
}

// What a fused BF16 GEMV does around the product (decode steps of the engine run one kernel where they ran three):
//   norm != null: the input rows are RMS-normalised first, x̂ = x · rsqrt(mean(x²) + eps) · norm. The
//                 kernel multiplies x by the gain on the fly, accumulates Σx² from the x values it reads
//                 anyway (every warp, or every CTA for the tensor-core kernel, sees whole rows), and scales
//                 the finished dot products by the row's rsqrt: no normalised copy of x is written.
//   EPI_STORE     y = x̂ · Wᵀ
//   EPI_ADD       y += x̂ · Wᵀ (the residual add after the attention output and the down projection)
//   EPI_SILU      W is [gate; up] with N = 2·I rows, y [B, I] = silu(x̂ · Wgᵀ) · (x̂ · Wuᵀ): a CTA computes gate
//                 rows and the matching up rows together, so SwiGLU needs no gate/up buffer.
enum { EPI_STORE = 0, EPI_ADD = 1, EPI_SILU = 2 };

__device__ __forceinline__ float silu(float g) { return g / (1.f + __expf(-g)); }

template <int BB>
__device__ void gemv_bf16(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
        int N, int K, int B, const __nv_bfloat16* __restrict__ norm, float eps, int epi) {
    __shared__ float upSums[WARPS / 2][BB];  // EPI_SILU: the up rows' results, read by the gate rows' warps
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    // no early return: EPI_SILU meets at a barrier; out-of-range warps read a valid row and store nothing
    int n;
    int col;
    bool valid;
    if (epi == EPI_SILU) {
        const int I = N / 2;
        col = blockIdx.x * (WARPS / 2) + warp % (WARPS / 2);  // output column: warps 0-3 its gate row, 4-7 its up row
        valid = col < I;
        n = (warp < WARPS / 2 ? 0 : I) + min(col, I - 1);
    } else {
        col = blockIdx.x * WARPS + warp;
        valid = col < N;
        n = min(col, N - 1);
    }
    const uint4* w = reinterpret_cast<const uint4*>(W + (long long)n * K);
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    const uint4* gv = reinterpret_cast<const uint4*>(norm);
    const int chunks = K / 8;
    float acc[BB];
    float ss[BB];
#pragma unroll
    for (int b = 0; b < BB; b++) acc[b] = ss[b] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * U) {
        uint4 wr[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = c0 + u * 32;
            if (c < chunks) wr[u] = __ldcs(w + c);  // streamed once: do not keep in L2
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = c0 + u * 32;
            if (c >= chunks) break;
            float wf[8];
            bf8(wr[u], wf);
            float gf[8];
            if (norm) {
                bf8(gv[c], gf);
#pragma unroll
                for (int j = 0; j < 8; j++) wf[j] *= gf[j];  // (x·g)·w = x·(g·w): one multiply per weight, shared by the batch rows
            }
#pragma unroll
            for (int b = 0; b < BB; b++) {
                if (b < B) {
                    float xf[8];
                    bf8(xv[(long long)b * chunks + c], xf);
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[b] = fmaf(wf[j], xf[j], acc[b]);
                    if (norm) {
#pragma unroll
                        for (int j = 0; j < 8; j++) ss[b] = fmaf(xf[j], xf[j], ss[b]);
                    }
                }
            }
        }
    }
    float s[BB];
#pragma unroll
    for (int b = 0; b < BB; b++) {
        s[b] = warpSum(acc[b]);
        if (norm) s[b] *= rsqrtf(warpSum(ss[b]) / K + eps);
    }
    if (epi == EPI_SILU) {
        if (warp >= WARPS / 2 && lane == 0) {
#pragma unroll
            for (int b = 0; b < BB; b++) upSums[warp - WARPS / 2][b] = s[b];
        }
        __syncthreads();
        if (warp < WARPS / 2 && valid && lane == 0) {
            const int I = N / 2;
#pragma unroll
            for (int b = 0; b < BB; b++)
                if (b < B) y[(long long)b * I + col] = __float2bfloat16(silu(s[b]) * upSums[warp][b]);
        }
        return;
    }
    if (valid && lane == 0) {
#pragma unroll
        for (int b = 0; b < BB; b++) {
            if (b < B) {
                __nv_bfloat16* o = y + (long long)b * N + n;
                *o = __float2bfloat16(epi == EPI_ADD ? __bfloat162float(*o) + s[b] : s[b]);
            }
        }
    }
}

template <int BB, int R>
__device__ void gemv_w8a16(const int8_t* __restrict__ W, const float* __restrict__ scales, const __nv_bfloat16* __restrict__ x,
        __nv_bfloat16* __restrict__ y, int N, int K, int B) {
    // R rows per warp: all their loads are issued before any is used (v1 had one row, one round of loads per
    // warp for K = 4096, and left HBM idle while warps computed and reduced)
    const int n0 = (blockIdx.x * WARPS + threadIdx.x / 32) * R;
    if (n0 >= N) return;
    const int lane = threadIdx.x % 32;
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    const int chunks = K / 16;
    float acc[R][BB];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int b = 0; b < BB; b++) acc[r][b] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * U) {
        uint4 wr[R][U];
#pragma unroll
        for (int r = 0; r < R; r++) {
            const uint4* w = reinterpret_cast<const uint4*>(W + (long long)min(n0 + r, N - 1) * K);
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int c = c0 + u * 32;
                if (c < chunks) wr[r][u] = __ldcs(w + c);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = c0 + u * 32;
            if (c >= chunks) break;
#pragma unroll
            for (int r = 0; r < R; r++) {
                // int8 → float without I2F: flip the sign bit (u = q + 128), place u in the mantissa of 2^23 with
                // one byte permute, subtract 2^23 + 128
                const uint32_t words[4] = {wr[r][u].x ^ 0x80808080u, wr[r][u].y ^ 0x80808080u, wr[r][u].z ^ 0x80808080u,
                        wr[r][u].w ^ 0x80808080u};
                float wf[16];
#pragma unroll
                for (int i = 0; i < 4; i++) {
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        wf[4 * i + j] = __uint_as_float(__byte_perm(words[i], 0x4B000000u, j | (4 << 4) | (5 << 8) | (7 << 12))) - 8388736.f;
                    }
                }
#pragma unroll
                for (int b = 0; b < BB; b++) {
                    if (b < B) {
                        float xf[16];
                        bf8(xv[(long long)b * (K / 8) + 2 * c], xf);
                        bf8(xv[(long long)b * (K / 8) + 2 * c + 1], xf + 8);
#pragma unroll
                        for (int j = 0; j < 16; j++) acc[r][b] = fmaf(wf[j], xf[j], acc[r][b]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
        if (n0 + r < N) store<BB>(acc[r], y, n0 + r, N, B, scales[n0 + r]);
        else store<BB>(acc[r], y, n0 + r, N, 0, 1.f);  // keep the warp's shuffles uniform; writes nothing
    }
}

template <int BB, int R>
__device__ void gemv_w4a16(const uint8_t* __restrict__ W, const float* __restrict__ scales, const uint8_t* __restrict__ zeros,
        const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, int N, int K, int B) {
    const int n0 = (blockIdx.x * WARPS + threadIdx.x / 32) * R;
    if (n0 >= N) return;
    const int lane = threadIdx.x % 32;
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    const int chunks = K / 32;  // 16 bytes = 32 values; a group of 128 is 4 chunks
    const int groups = K / 128;
    float acc[R][BB];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int b = 0; b < BB; b++) acc[r][b] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * U) {
        uint4 wr[R][U];
        float sr[R][U];
        float zr[R][U];
#pragma unroll
        for (int r = 0; r < R; r++) {
            const int n = min(n0 + r, N - 1);
            const uint4* w = reinterpret_cast<const uint4*>(W + (long long)n * (K / 2));
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int c = c0 + u * 32;
                if (c < chunks) {
                    wr[r][u] = __ldcs(w + c);
                    sr[r][u] = scales[(long long)n * groups + c / 4];
                    zr[r][u] = 8388608.f + (zeros ? (float)zeros[(long long)n * groups + c / 4] : 8.f);
                }
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = c0 + u * 32;
            if (c >= chunks) break;
            // x of this chunk is converted once per batch row and shared by the R rows
#pragma unroll
            for (int b = 0; b < BB; b++) {
                if (b < B) {
                    float xf[32];
#pragma unroll
                    for (int i = 0; i < 4; i++) bf8(xv[(long long)b * (K / 8) + 4 * c + i], xf + 8 * i);
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        float part = 0.f;  // a lane's 32 values lie in one group: scale once per chunk
                        const uint32_t words[4] = {wr[r][u].x, wr[r][u].y, wr[r][u].z, wr[r][u].w};
#pragma unroll
                        for (int i = 0; i < 4; i++) {
                            // byte k of a word holds elements 2k (low nibble) and 2k + 1 (high nibble); one mask per
                            // word isolates four nibbles, and one byte permute per value places it in the mantissa of
                            // 2^23 (no int-to-float conversion), one add removes 2^23 + zero point
                            const uint32_t lo = words[i] & 0x0F0F0F0Fu;
                            const uint32_t hi = (words[i] >> 4) & 0x0F0F0F0Fu;
#pragma unroll
                            for (int k = 0; k < 4; k++) {
                                const float e = __uint_as_float(__byte_perm(lo, 0x4B000000u, k | 0x7540)) - zr[r][u];
                                const float o = __uint_as_float(__byte_perm(hi, 0x4B000000u, k | 0x7540)) - zr[r][u];
                                part = fmaf(e, xf[8 * i + 2 * k], part);
                                part = fmaf(o, xf[8 * i + 2 * k + 1], part);
                            }
                        }
                        acc[r][b] = fmaf(part, sr[r][u], acc[r][b]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
        store<BB>(acc[r], y, n0 + r, N, n0 + r < N ? B : 0, 1.f);
    }
}

}  // namespace

#define LLMWB_GEMV(BB)                                                                                                         \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_bf16_b##BB(const __nv_bfloat16* W, const __nv_bfloat16* x,   \
            __nv_bfloat16* y, int N, int K, int B) {                                                                            \
        gemv_bf16<BB>(W, x, y, N, K, B, nullptr, 0.f, EPI_STORE);                                                              \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_bf16_fused_b##BB(const __nv_bfloat16* W, const __nv_bfloat16* x,  \
            __nv_bfloat16* y, int N, int K, int B, const __nv_bfloat16* norm, float eps, int epi) {                            \
        gemv_bf16<BB>(W, x, y, N, K, B, norm, eps, epi);                                                                       \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_w8a16_b##BB(const int8_t* W, const float* s,                 \
            const __nv_bfloat16* x, __nv_bfloat16* y, int N, int K, int B) {                                                    \
        gemv_w8a16<BB, W8_ROWS>(W, s, x, y, N, K, B);                                                                                   \
    }                                                                                                                           \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_w4a16_b##BB(const uint8_t* W, const float* s,                \
            const uint8_t* z, const __nv_bfloat16* x, __nv_bfloat16* y, int N, int K, int B) {                                  \
        gemv_w4a16<BB, W4_ROWS>(W, s, z, x, y, N, K, B);                                                                                \
    }

LLMWB_GEMV(1)
LLMWB_GEMV(2)
LLMWB_GEMV(4)
LLMWB_GEMV(8)
LLMWB_GEMV(16)

// Tensor-core GEMV for small batches (gemv_bf16_tc up to 16 rows, gemv_bf16_tc32 up to 32): y[B, N] = x[B, K] · Wᵀ, K % 8 == 0.
// Why: the CUDA-core kernel above spends about 17 instructions per batch row per 16 bytes of W, so from about
// 4 rows it is instruction-bound, not bandwidth-bound (measured: batch 16 at 26% of the copy roofline on an
// H100; a verify step of 5 rows cost 3 decode steps on an H200). Here one mma.m16n8k16 does 16 rows × 16 k ×
// 8 batch rows: W tiles are the A operand, x the B operand (the batch rows, zero past B).
// v2 loads: every lane reads 16 contiguous bytes of a W row (v1 read 4-byte words in fragment order, half a
// sector per instruction, and reached 30-45% of the copy bandwidth). A dot product does not care in which
// order k is summed, so the kernel relabels k inside each 32-wide chunk: lane (g, t) holds elements
// 8t..8t+7 of rows g and g+8 and of batch row g, and feeds them to two MMAs as the fragment positions
// (2t, 2t+1, 2t+8, 2t+9) — A and B see the same relabelling, so every product pairs the right w and x.
// A CTA is 8 warps on 16 output rows, each warp a slice of K (split-K: N/16 CTAs alone would leave SMs idle),
// 8 chunks of loads issued before their MMAs; the 8 partial sums meet in shared memory. A batch column's
// result does not depend on the other columns, so any B gives the same row values (batch invariance).
// The fused entry points take the norm prologue and the epilogues described above gemv_bf16.
namespace {
constexpr int TC_WARPS = 8;
constexpr int TC_U = 8;
}

// NT n8 tiles of batch: up to 8·NT rows (gemv_bf16_tc: NT 2, up to 16; gemv_bf16_tc32: NT 4, up to 32).
// UU chunks of loads in flight per warp. PRE: the x vectors of those chunks are loaded in the same phase as W
// (tc32: at 32 rows each chunk needs 4 x vectors from L2, and one CTA per SM hides little latency; measured
// on an H100, see the README).
template <int NT, int UU, bool PRE>
__device__ void gemv_bf16_tc_body(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
        int N, int K, int B, const __nv_bfloat16* __restrict__ norm, float eps, int epi) {
    __shared__ float part[TC_WARPS][16][8 * NT];  // [warp][row][batch]
    __shared__ float sumSq[TC_WARPS][8 * NT];     // norm: each warp's Σx² over its K slice, per batch row
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int g = lane / 4;
    const int t = lane % 4;
    // the CTA's 16 W rows: 16 consecutive ones, or for EPI_SILU 8 gate rows (A rows 0-7) and their up rows (8-15)
    int ra;
    int rb;
    if (epi == EPI_SILU) {
        const int I = N / 2;
        ra = min(blockIdx.x * 8 + g, I - 1);
        rb = I + ra;
    } else {
        ra = min(blockIdx.x * 16 + g, N - 1);
        rb = min(blockIdx.x * 16 + g + 8, N - 1);
    }
    const uint4* wa = reinterpret_cast<const uint4*>(W + (long long)ra * K);
    const uint4* wb = reinterpret_cast<const uint4*>(W + (long long)rb * K);
    const uint4* gv = reinterpret_cast<const uint4*>(norm);
    const int vecs = K / 8;  // 16-byte vectors per row
    const int chunks = (K + 31) / 32;
    const int per = (chunks + TC_WARPS - 1) / TC_WARPS;
    const int cs0 = warp * per;
    const int cs1 = min(chunks, cs0 + per);
    const uint4* xr[NT];
    bool has[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) {
        has[j] = 8 * j + g < B;
        xr[j] = reinterpret_cast<const uint4*>(x + (long long)min(8 * j + g, B - 1) * K);
    }
    float c[NT][4];
    float ss[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) c[j][0] = c[j][1] = c[j][2] = c[j][3] = ss[j] = 0.f;
    const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
    for (int cs = cs0; cs < cs1; cs += UU) {
        uint4 a0[UU];
        uint4 a1[UU];
        uint4 xq[PRE ? UU : 1][NT];
#pragma unroll
        for (int u = 0; u < UU; u++) {
            const int v = (cs + u) * 4 + t;
            const bool in = cs + u < cs1 && v < vecs;
            a0[u] = in ? __ldcs(wa + v) : zero;
            a1[u] = in ? __ldcs(wb + v) : zero;
            if (PRE) {
#pragma unroll
                for (int j = 0; j < NT; j++) xq[PRE ? u : 0][j] = in && has[j] ? xr[j][v] : zero;
            }
        }
#pragma unroll
        for (int u = 0; u < UU; u++) {
            const int v = (cs + u) * 4 + t;
            const bool in = cs + u < cs1 && v < vecs;
            float gf[8];
            if (norm && in) bf8(gv[v], gf);
            const uint32_t lo[4] = {a0[u].x, a1[u].x, a0[u].y, a1[u].y};
            const uint32_t hi[4] = {a0[u].z, a1[u].z, a0[u].w, a1[u].w};
#pragma unroll
            for (int j = 0; j < NT; j++) {
                if (8 * j < B) {
                    uint4 xb = zero;
                    if (in && has[j]) {
                        xb = PRE ? xq[PRE ? u : 0][j] : xr[j][v];
                        if (norm) {
                            float xf[8];
                            bf8(xb, xf);
#pragma unroll
                            for (int i = 0; i < 8; i++) ss[j] = fmaf(xf[i], xf[i], ss[j]);
                            xb = make_uint4(pack_bf16(xf[0] * gf[0], xf[1] * gf[1]), pack_bf16(xf[2] * gf[2], xf[3] * gf[3]),
                                    pack_bf16(xf[4] * gf[4], xf[5] * gf[5]), pack_bf16(xf[6] * gf[6], xf[7] * gf[7]));
                        }
                    }
                    mma_bf16_16816(c[j], lo, xb.x, xb.y);
                    mma_bf16_16816(c[j], hi, xb.z, xb.w);
                }
            }
        }
    }
#pragma unroll
    for (int j = 0; j < NT; j++) {
        part[warp][g][8 * j + 2 * t] = c[j][0];
        part[warp][g][8 * j + 2 * t + 1] = c[j][1];
        part[warp][g + 8][8 * j + 2 * t] = c[j][2];
        part[warp][g + 8][8 * j + 2 * t + 1] = c[j][3];
        if (norm) {
            float s = ss[j];
            s += __shfl_xor_sync(0xffffffffu, s, 1);
            s += __shfl_xor_sync(0xffffffffu, s, 2);
            if (t == 0) sumSq[warp][8 * j + g] = s;
        }
    }
    __syncthreads();
    if (epi == EPI_SILU) {
        const int I = N / 2;
        for (int i = threadIdx.x; i < 8 * 8 * NT; i += TC_WARPS * 32) {
            const int p = i / (8 * NT);
            const int b = i % (8 * NT);
            const int col = blockIdx.x * 8 + p;
            if (col < I && b < B) {
                float sg = 0.f;
                float su = 0.f;
                float q = 0.f;
#pragma unroll
                for (int w = 0; w < TC_WARPS; w++) {
                    sg += part[w][p][b];
                    su += part[w][p + 8][b];
                    if (norm) q += sumSq[w][b];
                }
                if (norm) {
                    const float r = rsqrtf(q / K + eps);
                    sg *= r;
                    su *= r;
                }
                y[(long long)b * I + col] = __float2bfloat16(silu(sg) * su);
            }
        }
        return;
    }
    for (int i = threadIdx.x; i < 16 * 8 * NT; i += TC_WARPS * 32) {
        const int row = i / (8 * NT);
        const int b = i % (8 * NT);
        const int n = blockIdx.x * 16 + row;
        if (n < N && b < B) {
            float s = 0.f;
            float q = 0.f;
#pragma unroll
            for (int w = 0; w < TC_WARPS; w++) {
                s += part[w][row][b];
                if (norm) q += sumSq[w][b];
            }
            if (norm) s *= rsqrtf(q / K + eps);
            __nv_bfloat16* o = y + (long long)b * N + n;
            *o = __float2bfloat16(epi == EPI_ADD ? __bfloat162float(*o) + s : s);
        }
    }
}

#define LLMWB_GEMV_TC(NAME, NT, UU, PRE)                                                                                                  \
    extern "C" __global__ void __launch_bounds__(TC_WARPS * 32) NAME(const __nv_bfloat16* __restrict__ W,                        \
            const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, int N, int K, int B) {                           \
        gemv_bf16_tc_body<NT, UU, PRE>(W, x, y, N, K, B, nullptr, 0.f, EPI_STORE);                                                        \
    }                                                                                                                             \
    extern "C" __global__ void __launch_bounds__(TC_WARPS * 32) NAME##_fused(const __nv_bfloat16* __restrict__ W,                \
            const __nv_bfloat16* __restrict__ x, __nv_bfloat16* y, int N, int K, int B, const __nv_bfloat16* __restrict__ norm,    \
            float eps, int epi) {                                                                                                 \
        gemv_bf16_tc_body<NT, UU, PRE>(W, x, y, N, K, B, norm, eps, epi);                                                                 \
    }

LLMWB_GEMV_TC(gemv_bf16_tc, 2, TC_U, false)
LLMWB_GEMV_TC(gemv_bf16_tc32, 4, 4, true)

// Tensor-core GEMV v3, split-K with the x slice staged once per CTA (gemv_bf16_sk8 / _sk16 / _sk32: up to 8, 16,
// 32 rows; each with the fused entry point _fused taking the norm prologue and the epilogues above).
// Why: v2 (gemv_bf16_tc*) gives each CTA 16 W rows and the whole of K, 8 warps splitting K. Every x vector it
// reads is used by 16 W rows only, so at 32 batch rows it reads two bytes of x from L2 for every byte of W from
// HBM (Nsight Compute on an H100: 0.44-0.83 TB/s at 32 rows, 0.9-1.7 TB/s at 8; the copy roof is 2.9), and the
// norm prologue is recomputed by every warp. Here a CTA takes 64 W rows (4 row tiles) over a slice of K
// (gridDim.y slices): it stages x̂ = x·g for its slice into shared memory once (Σx² on the way, one warp per batch
// row, a fixed order), and its 8 warps — 4 row tiles × 2 halves of the slice — read x̂ from there, so x costs a
// quarter of W's bytes at 32 rows and an eighth at 16. The W loads for a warp's first chunks are issued before
// the staging, so HBM is busy while x arrives.
// Slices meet in a float workspace: each CTA writes its 64 × 8·NT partial sums (and its Σx² partials); the
// last CTA of a row group to finish (an atomic counter per group, reset by that CTA) adds the slices in slice
// order and applies the epilogue. Nothing depends on the batch size but the number of n8 tiles computed, and
// the slicing depends on N and K only, so a batch row's result is bit-identical whatever the batch (the test
// checks it) and repeated calls are bit-identical (no atomics on values).
// Shared memory (dynamic): max(8·NT rows × (32·slice + 32) bf16, 2 × 64 × 8·NT floats); the +32 elements
// (64 bytes) per x̂ row put the 8 rows a quarter-warp reads on different banks.
namespace {
constexpr int SK_RT = 4;     // 16-row tiles per CTA
constexpr int SK_U = 4;      // chunks of loads in flight per warp
constexpr int SK_ROWS = 16 * SK_RT;
}

template <int NT>
__device__ __forceinline__ void sk_load_w(uint4 (&a0)[SK_U], uint4 (&a1)[SK_U], const uint4* wa, const uint4* wb, int c0, int lc, int lc1, int t,
        int vecs) {
    const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int u = 0; u < SK_U; u++) {
        const int v = (c0 + lc + u) * 4 + t;
        const bool in = lc + u < lc1 && v < vecs;
        a0[u] = in ? __ldcs(wa + v) : zero;
        a1[u] = in ? __ldcs(wb + v) : zero;
    }
}

// Where the slices of a split-K GEMV meet (gemv_bf16_sk* and gemv_bf16_wg32). Each CTA has written its block of
// `per` floats to the workspace; sk_last_of_group makes those writes visible and tells the row group's last CTA to
// finish (the others leave). sk_sum_slices then gives that CTA, for element threadIdx.x + e·THREADS of the block,
// the sum over the group's slices in slice order — so the result does not depend on which CTA came last — with
// 4 slices' loads in flight at a time (a loop of dependent L2 loads cost more than the product). The caller
// resets counters[blockIdx.x] to 0 when done.
__device__ __forceinline__ bool sk_last_of_group(int* counters) {
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(counters + blockIdx.x, 1) == static_cast<int>(gridDim.y) - 1;
    __syncthreads();
    if (last) __threadfence();
    return last;
}

template <int THREADS, int E>
__device__ __forceinline__ void sk_sum_slices(const float* __restrict__ ws, int per, float (&acc)[E]) {
    const float* all = ws + static_cast<long long>(blockIdx.x) * gridDim.y * per;
    const int slices = static_cast<int>(gridDim.y);
#pragma unroll
    for (int e = 0; e < E; e++) acc[e] = 0.f;
    for (int k0 = 0; k0 < slices; k0 += 4) {
        float v[4][E];
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
#pragma unroll
            for (int e = 0; e < E; e++) {
                const int i = threadIdx.x + e * THREADS;
                v[kk][e] = k0 + kk < slices && i < per ? __ldcg(all + static_cast<long long>(k0 + kk) * per + i) : 0.f;
            }
        }
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
#pragma unroll
            for (int e = 0; e < E; e++) acc[e] += v[kk][e];
        }
    }
}

template <int NT>
__device__ void gemv_bf16_sk_body(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
        int N, int K, int B, const __nv_bfloat16* __restrict__ norm, float eps, int epi, int slice, float* __restrict__ ws,
        int* __restrict__ counters) {
    constexpr int BT = 8 * NT;
    extern __shared__ __align__(16) unsigned char sk_smem[];
    __shared__ float sumSq[BT];
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int g = lane / 4;
    const int t = lane % 4;
    const int rt = warp % SK_RT;
    const int kh = warp / SK_RT;
    const int vecs = K / 8;
    const int chunks = (K + 31) / 32;
    const int c0 = blockIdx.y * slice;
    const int nc = min(chunks, c0 + slice) - c0;
    const int xstride = slice * 32 + 32;
    // this warp's two W rows per lane: tile rt of the CTA's 64 rows (EPI_SILU: tiles 0-1 gate rows, 2-3 the matching up rows)
    int ra;
    int rb;
    if (epi == EPI_SILU) {
        const int I = N / 2;
        const int base = blockIdx.x * (SK_ROWS / 2) + (rt & 1) * 16;
        ra = min(base + g, I - 1) + (rt >= 2 ? I : 0);
        rb = min(base + g + 8, I - 1) + (rt >= 2 ? I : 0);
    } else {
        const int base = blockIdx.x * SK_ROWS + rt * 16;
        ra = min(base + g, N - 1);
        rb = min(base + g + 8, N - 1);
    }
    const uint4* wa = reinterpret_cast<const uint4*>(W + (long long)ra * K);
    const uint4* wb = reinterpret_cast<const uint4*>(W + (long long)rb * K);
    const int half = (nc + 1) / 2;
    const int lc0 = kh == 0 ? 0 : half;
    const int lc1 = kh == 0 ? half : nc;
    uint4 a0[SK_U];
    uint4 a1[SK_U];
    sk_load_w<NT>(a0, a1, wa, wb, c0, lc0, lc1, t, vecs);  // in flight while x is staged

    // stage x for the slice with cp.async (every row's vectors in flight at once, no registers held; rows past B
    // and vectors past K are zero-filled), then, with a norm, x̂ = x·g in place and Σx² per batch row (one warp a
    // row, a fixed order)
    __nv_bfloat16* xs = reinterpret_cast<__nv_bfloat16*>(sk_smem);
    const uint4* gv = reinterpret_cast<const uint4*>(norm);
    for (int i = threadIdx.x; i < BT * nc * 4; i += TC_WARPS * 32) {
        const int b = i / (nc * 4);
        const int e = i % (nc * 4);
        const int v = c0 * 4 + e;
        const bool in = b < B && v < vecs;
        cp_async16(xs + b * xstride + e * 8, x + (long long)(in ? b : 0) * K + (in ? v : 0) * 8, in ? 16 : 0);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    if (norm) {
        for (int b = warp; b < BT; b += TC_WARPS) {
            float ss = 0.f;
            for (int e = lane; e < nc * 4 && b < B; e += 32) {
                const int v = c0 * 4 + e;
                if (v >= vecs) break;
                uint4* p = reinterpret_cast<uint4*>(xs + b * xstride + e * 8);
                float xf[8];
                float gf[8];
                bf8(*p, xf);
                bf8(gv[v], gf);
#pragma unroll
                for (int j = 0; j < 8; j++) ss = fmaf(xf[j], xf[j], ss);
                *p = make_uint4(pack_bf16(xf[0] * gf[0], xf[1] * gf[1]), pack_bf16(xf[2] * gf[2], xf[3] * gf[3]),
                        pack_bf16(xf[4] * gf[4], xf[5] * gf[5]), pack_bf16(xf[6] * gf[6], xf[7] * gf[7]));
            }
            ss = warpSum(ss);
            if (lane == 0) sumSq[b] = ss;
        }
    } else if (threadIdx.x < BT) {
        sumSq[threadIdx.x] = 0.f;
    }
    __syncthreads();

    float c[NT][4];
#pragma unroll
    for (int j = 0; j < NT; j++) c[j][0] = c[j][1] = c[j][2] = c[j][3] = 0.f;
    for (int lc = lc0; lc < lc1; lc += SK_U) {
        uint4 p0[SK_U];
        uint4 p1[SK_U];
#pragma unroll
        for (int u = 0; u < SK_U; u++) {
            p0[u] = a0[u];
            p1[u] = a1[u];
        }
        if (lc + SK_U < lc1) sk_load_w<NT>(a0, a1, wa, wb, c0, lc + SK_U, lc1, t, vecs);
#pragma unroll
        for (int u = 0; u < SK_U; u++) {
            if (lc + u < lc1) {
                const uint32_t lo[4] = {p0[u].x, p1[u].x, p0[u].y, p1[u].y};
                const uint32_t hi[4] = {p0[u].z, p1[u].z, p0[u].w, p1[u].w};
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    if (8 * j < B) {
                        const uint4 xb = *reinterpret_cast<const uint4*>(xs + (8 * j + g) * xstride + (lc + u) * 32 + 8 * t);
                        mma_bf16_16816(c[j], lo, xb.x, xb.y);
                        mma_bf16_16816(c[j], hi, xb.z, xb.w);
                    }
                }
            }
        }
    }
    __syncthreads();  // x̂ is dead: its shared memory holds the partial sums from here

    float* part = reinterpret_cast<float*>(sk_smem);  // [2 halves][64 rows][BT]
#pragma unroll
    for (int j = 0; j < NT; j++) {
        float* p = part + (kh * SK_ROWS + rt * 16) * BT;
        p[g * BT + 8 * j + 2 * t] = c[j][0];
        p[g * BT + 8 * j + 2 * t + 1] = c[j][1];
        p[(g + 8) * BT + 8 * j + 2 * t] = c[j][2];
        p[(g + 8) * BT + 8 * j + 2 * t + 1] = c[j][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < SK_ROWS * BT; i += TC_WARPS * 32) part[i] += part[SK_ROWS * BT + i];
    if (gridDim.y > 1) {
        // this slice's partial sums to the workspace; the row group's last CTA adds all slices in slice order
        constexpr int PER = SK_ROWS * BT + BT;
        float* mine = ws + ((long long)blockIdx.x * gridDim.y + blockIdx.y) * PER;
        for (int i = threadIdx.x; i < SK_ROWS * BT; i += TC_WARPS * 32) mine[i] = part[i];
        if (threadIdx.x < BT) mine[SK_ROWS * BT + threadIdx.x] = sumSq[threadIdx.x];
        if (!sk_last_of_group(counters)) return;
        constexpr int E = (PER + TC_WARPS * 32 - 1) / (TC_WARPS * 32);
        float acc[E];
        sk_sum_slices<TC_WARPS * 32>(ws, PER, acc);
#pragma unroll
        for (int e = 0; e < E; e++) {
            const int i = threadIdx.x + e * TC_WARPS * 32;
            if (i < SK_ROWS * BT) {
                part[i] = acc[e];
            } else if (i < PER) {
                sumSq[i - SK_ROWS * BT] = acc[e];
            }
        }
        if (threadIdx.x == 0) counters[blockIdx.x] = 0;  // ready for the next launch (graph replays included)
    }
    __syncthreads();
    if (epi == EPI_SILU) {
        const int I = N / 2;
        for (int i = threadIdx.x; i < (SK_ROWS / 2) * BT; i += TC_WARPS * 32) {
            const int p = i / BT;
            const int b = i % BT;
            const int col = blockIdx.x * (SK_ROWS / 2) + p;
            if (col < I && b < B) {
                float sg = part[p * BT + b];
                float su = part[(p + SK_ROWS / 2) * BT + b];
                if (norm) {
                    const float r = rsqrtf(sumSq[b] / K + eps);
                    sg *= r;
                    su *= r;
                }
                y[(long long)b * I + col] = __float2bfloat16(silu(sg) * su);
            }
        }
        return;
    }
    for (int i = threadIdx.x; i < SK_ROWS * BT; i += TC_WARPS * 32) {
        const int row = i / BT;
        const int b = i % BT;
        const int n = blockIdx.x * SK_ROWS + row;
        if (n < N && b < B) {
            float s = part[row * BT + b];
            if (norm) s *= rsqrtf(sumSq[b] / K + eps);
            __nv_bfloat16* o = y + (long long)b * N + n;
            *o = __float2bfloat16(epi == EPI_ADD ? __bfloat162float(*o) + s : s);
        }
    }
}

#define LLMWB_GEMV_SK(NAME, NT)                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_WARPS * 32, 2) NAME(const __nv_bfloat16* __restrict__ W,                     \
            const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, int N, int K, int B, int slice, float* ws,            \
            int* counters) {                                                                                                      \
        gemv_bf16_sk_body<NT>(W, x, y, N, K, B, nullptr, 0.f, EPI_STORE, slice, ws, counters);                                    \
    }                                                                                                                             \
    extern "C" __global__ void __launch_bounds__(TC_WARPS * 32, 2) NAME##_fused(const __nv_bfloat16* __restrict__ W,             \
            const __nv_bfloat16* __restrict__ x, __nv_bfloat16* y, int N, int K, int B, const __nv_bfloat16* __restrict__ norm,    \
            float eps, int epi, int slice, float* ws, int* counters) {                                                            \
        gemv_bf16_sk_body<NT>(W, x, y, N, K, B, norm, eps, epi, slice, ws, counters);                                             \
    }

LLMWB_GEMV_SK(gemv_bf16_sk8, 1)
LLMWB_GEMV_SK(gemv_bf16_sk16, 2)
LLMWB_GEMV_SK(gemv_bf16_sk32, 4)

// Split-K wgmma GEMV for 17 to 32 batch rows (gemv_bf16_wg32, sm_90a): y[B, N] = x[B, K] · Wᵀ, B ≤ 32, K % 8 == 0.
// Why: at 32 rows the register-loading kernels (v2 gemv_bf16_tc32, and gemv_bf16_sk32) are latency-bound —
// Nsight Compute on an H100 for gate/up (16384 × 2048): DRAM at 40% of peak, 25% occupancy (118 registers),
// 12 cycles per issued instruction — because a warp can only keep the loads its registers hold in flight. Here
// the weights stream through a 6-stage cp.async ring in shared memory (4 tiles in flight, no registers held):
// one warpgroup per CTA takes 64 W rows as wgmma's A operand and the (up to) 32 batch rows as B, both K-major in
// the 128-byte swizzle of wgmma.cuh, m64n32k16 per 16 k. Three CTAs fit an SM, so about 144 KB of weights are
// in flight per SM. K is split into gridDim.y slices of `slice` 64-wide tiles; slices meet in the workspace of
// the split-K GEMV above (same layout: 64 rows × 32 columns per CTA) and the row group's last CTA adds them in
// slice order (deterministic; the slicing depends on N and K only).
#if LLMWB_WGMMA
namespace {
constexpr int WG_STAGES = 6, WG_PREF = 4;
constexpr int WG_W_BYTES = 64 * 128, WG_X_BYTES = 32 * 128, WG_STAGE_BYTES = WG_W_BYTES + WG_X_BYTES;
}
#endif

extern "C" __global__ void __launch_bounds__(128) gemv_bf16_wg32(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x,
        __nv_bfloat16* __restrict__ y, int N, int K, int B, int slice, float* __restrict__ ws, int* __restrict__ counters) {
#if LLMWB_WGMMA
    extern __shared__ __align__(16) unsigned char wg_raw[];
    unsigned char* sm = align_1024_shared(wg_raw);
    const int tid = threadIdx.x;
    const int n0 = blockIdx.x * 64;
    const int kTiles = (K + 63) / 64;
    const int kt0 = blockIdx.y * slice;
    const int nk = min(kTiles, kt0 + slice) - kt0;

    // 512 W chunks then 256 x chunks of 16 bytes a stage; chunk c of a row lands at position c ^ (row % 8)
    auto load = [&](int stage, int kt) {
        unsigned char* wsm = sm + stage * WG_STAGE_BYTES;
        unsigned char* xsm = wsm + WG_W_BYTES;
        const int k0 = kt * 64;
#pragma unroll
        for (int i = 0; i < 6; i++) {
            const int c = tid + i * 128;
            const bool isW = i < 4;
            const int cc = isW ? c : c - 512;
            const int row = cc >> 3, ch = cc & 7;
            sw128_load_chunk(isW ? wsm : xsm, isW ? W : x, row, ch, isW ? n0 + row : row, isW ? N : B, k0 + ch * 8, K);
        }
    };

    float acc[16];
#pragma unroll
    for (int i = 0; i < 16; i++) acc[i] = 0.f;
#pragma unroll
    for (int s = 0; s < WG_PREF; s++) {
        if (s < nk) load(s, kt0 + s);
        cp_async_commit();
    }
    for (int j = 0; j < nk; j++) {
        cp_async_wait<WG_PREF - 1>();
        fence_proxy_async();
        __syncthreads();  // tile j is in shared memory; the wgmma of tile j − 2 is done (waited below), so its stage is free
        if (j + WG_PREF < nk) load((j + WG_PREF) % WG_STAGES, kt0 + j + WG_PREF);
        cp_async_commit();
        const unsigned char* wsm = sm + (j % WG_STAGES) * WG_STAGE_BYTES;
        const uint64_t da = wgmma_desc_sw128(wsm);
        const uint64_t db = wgmma_desc_sw128(wsm + WG_W_BYTES);
        wgmma_fence_regs(acc);
        wgmma_fence();
#pragma unroll
        for (int q = 0; q < 4; q++) wgmma_m64n32k16_ss(acc, da + 2 * q, db + 2 * q, 1);  // +32 bytes = the next 16 k
        wgmma_commit();
        wgmma_fence_regs(acc);
        wgmma_wait<1>();
    }
    wgmma_wait<0>();
    wgmma_fence_regs(acc);
    cp_async_wait<0>();

    // accumulator (row r = weight row, col c = batch row): warp w rows w·16 + g (+8), cols 8i + 2t (+1)
    const int lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int r0 = (tid >> 5) * 16 + g;
    if (gridDim.y == 1) {
#pragma unroll
        for (int i = 0; i < 16; i++) {
            const int r = r0 + ((i >> 1) & 1) * 8;
            const int c = (i >> 2) * 8 + 2 * t + (i & 1);
            if (n0 + r < N && c < B) y[static_cast<long long>(c) * N + n0 + r] = __float2bfloat16(acc[i]);
        }
        return;
    }
    constexpr int PER = 64 * 32 + 32;  // the split-K GEMV's workspace block (its Σx² slots stay unused here)
    float* mine = ws + (static_cast<long long>(blockIdx.x) * gridDim.y + blockIdx.y) * PER;
#pragma unroll
    for (int i = 0; i < 16; i++) {
        const int r = r0 + ((i >> 1) & 1) * 8;
        const int c = (i >> 2) * 8 + 2 * t + (i & 1);
        mine[r * 32 + c] = acc[i];
    }
    if (!sk_last_of_group(counters)) return;
    float sum[16];
    sk_sum_slices<128>(ws, PER, sum);
#pragma unroll
    for (int e = 0; e < 16; e++) {
        const int i = tid + e * 128;
        const int r = i / 32, c = i % 32;
        if (n0 + r < N && c < B) y[static_cast<long long>(c) * N + n0 + r] = __float2bfloat16(sum[e]);
    }
    if (tid == 0) counters[blockIdx.x] = 0;
#else
    __trap();
#endif
}
