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

template <int BB>
__device__ void gemv_bf16(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
        int N, int K, int B) {
    const int n = blockIdx.x * WARPS + threadIdx.x / 32;
    if (n >= N) return;
    const int lane = threadIdx.x % 32;
    const uint4* w = reinterpret_cast<const uint4*>(W + (long long)n * K);
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    const int chunks = K / 8;
    float acc[BB];
#pragma unroll
    for (int b = 0; b < BB; b++) acc[b] = 0.f;
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
#pragma unroll
            for (int b = 0; b < BB; b++) {
                if (b < B) {
                    float xf[8];
                    bf8(xv[(long long)b * chunks + c], xf);
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[b] = fmaf(wf[j], xf[j], acc[b]);
                }
            }
        }
    }
    store<BB>(acc, y, n, N, B, 1.f);
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
        gemv_bf16<BB>(W, x, y, N, K, B);                                                                                       \
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

// Tensor-core GEMV for small batches (gemv_bf16_tc up to 16 rows, gemv_bf16_tc32 up to 32): y[B, N] = x[B, K] · Wᵀ, K % 16 == 0.
// Why: the CUDA-core kernel above spends about 17 instructions per batch row per 16 bytes of W, so from about
// 4 rows it is instruction-bound, not bandwidth-bound (measured: batch 16 at 26% of the copy roofline on an
// H100; a verify step of 5 rows cost 3 decode steps on an H200). Here one mma.m16n8k16 does 16 rows × 16 k ×
// 8 batch rows: W tiles are the A operand, read straight from global memory in fragment order (16 rows × 32
// bytes per k-step per warp, every byte used), x is the B operand (the batch rows, zero past B).
// A CTA is 8 warps on 16 output rows, each warp a slice of K (split-K: N/16 CTAs alone would leave SMs idle),
// 8 k-steps of loads issued before their MMAs; the 8 partial sums meet in shared memory. A batch column's
// result does not depend on the other columns, so any B gives the same row values (batch invariance).
namespace {
constexpr int TC_WARPS = 8;
constexpr int TC_U = 8;
}

// NT n8 tiles of batch: up to 8·NT rows (gemv_bf16_tc: NT 2, up to 16; gemv_bf16_tc32: NT 4, up to 32).
template <int NT>
__device__ void gemv_bf16_tc_body(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
        int N, int K, int B) {
    __shared__ float part[TC_WARPS][16][8 * NT];  // [warp][row][batch]
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int g = lane / 4;
    const int t = lane % 4;
    const int n0 = blockIdx.x * 16;
    const int ksteps = K / 16;
    const int per = (ksteps + TC_WARPS - 1) / TC_WARPS;
    const int ks0 = warp * per;
    const int ks1 = min(ksteps, ks0 + per);
    const uint32_t* wa = reinterpret_cast<const uint32_t*>(W + (long long)min(n0 + g, N - 1) * K);
    const uint32_t* wb = reinterpret_cast<const uint32_t*>(W + (long long)min(n0 + g + 8, N - 1) * K);
    const uint32_t* xr[NT];
    bool has[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) {
        has[j] = 8 * j + g < B;
        xr[j] = reinterpret_cast<const uint32_t*>(x + (long long)min(8 * j + g, B - 1) * K);
    }
    float c[NT][4];
#pragma unroll
    for (int j = 0; j < NT; j++) c[j][0] = c[j][1] = c[j][2] = c[j][3] = 0.f;
    for (int ks = ks0; ks < ks1; ks += TC_U) {
        uint32_t a[TC_U][4];
#pragma unroll
        for (int u = 0; u < TC_U; u++) {
            const int h = (ks + u) * 8;  // uint32 index of this k-step's first pair
            if (ks + u < ks1) {
                a[u][0] = __ldcs(wa + h + t);
                a[u][1] = __ldcs(wb + h + t);
                a[u][2] = __ldcs(wa + h + 4 + t);
                a[u][3] = __ldcs(wb + h + 4 + t);
            } else {
                a[u][0] = a[u][1] = a[u][2] = a[u][3] = 0u;
            }
        }
#pragma unroll
        for (int u = 0; u < TC_U; u++) {
            const int h = (ks + u) * 8;
            const bool in = ks + u < ks1;
#pragma unroll
            for (int j = 0; j < NT; j++) {
                if (8 * j < B) {
                    mma_bf16_16816(c[j], a[u], in && has[j] ? xr[j][h + t] : 0u, in && has[j] ? xr[j][h + 4 + t] : 0u);
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
    }
    __syncthreads();
    for (int i = threadIdx.x; i < 16 * 8 * NT; i += TC_WARPS * 32) {
        const int row = i / (8 * NT);
        const int b = i % (8 * NT);
        if (n0 + row < N && b < B) {
            float s = 0.f;
#pragma unroll
            for (int w = 0; w < TC_WARPS; w++) s += part[w][row][b];
            y[(long long)b * N + n0 + row] = __float2bfloat16(s);
        }
    }
}

extern "C" __global__ void __launch_bounds__(TC_WARPS * 32) gemv_bf16_tc(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x,
        __nv_bfloat16* __restrict__ y, int N, int K, int B) {
    gemv_bf16_tc_body<2>(W, x, y, N, K, B);
}

extern "C" __global__ void __launch_bounds__(TC_WARPS * 32) gemv_bf16_tc32(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ x,
        __nv_bfloat16* __restrict__ y, int N, int K, int B) {
    gemv_bf16_tc_body<4>(W, x, y, N, K, B);
}
