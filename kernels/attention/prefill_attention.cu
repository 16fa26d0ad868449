// Prefill attention: the new tokens of each sequence attend causally to everything before them, reading K/V
// from the paged cache (the new tokens' K/V are written there first, by kv_cache.cu's writer). GQA-aware,
// variable-length batches. Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
// Shapes: q, out [T, H, D] bf16, the new tokens of all sequences packed (sequence b's rows start at
// qStart[b], qLen[b] of them); cache [numBlocks, blockSize, KVH, D] bf16 with blockTables [B, maxBlocks],
// blockShift = log2(blockSize); past[b] tokens were cached before the new ones, so new row i sits at position
// past[b] + i and sees keys 0 .. past[b] + i. D = 64 or 128; G = H / KVH query heads per KV head.
//
//   v1 naive (three kernels, one launch each per sequence): prefill_naive_scores writes the whole score matrix
//      S [H, n, past + n] in fp32 to global memory, prefill_naive_softmax turns each row into probabilities in
//      place, prefill_naive_pv multiplies them by V. Simple and obviously right, but it needs H·n·(past+n)·4
//      bytes of workspace (8.6 GB for 32 heads at 8K tokens) and moves that matrix through HBM three times.
//   v2 flash (prefill_flash_d<D>): one CTA of 4 warps takes 64 query rows of one head; each warp owns 16 rows,
//      keeps its Q fragments in registers, and walks the keys in tiles of 64 staged through shared memory:
//      S = Q·Kᵀ on tensor cores (mma.sync m16n8k16, bf16 in, fp32 accumulate), causal mask, online softmax in
//      base 2 (running max and sum per row; the accumulator rescaled once per tile), then O += P·V on tensor
//      cores with P re-packed from the S accumulators to bf16 A fragments (no shared-memory round trip) and V
//      fragments read with ldmatrix.trans. Nothing of size n² ever exists; keys past the tile's causal bound are
//      never loaded. Shared rows are padded by 16 bytes so the fragment loads are free of bank conflicts.
//      Tiles are listed by the launcher (tileSeq, tileRow), longest first, so the long causal tiles start early.
#include <cuda_bf16.h>
#include <math_constants.h>
#include <stdint.h>

#include "../common/mma.cuh"

namespace {

__device__ __forceinline__ size_t kv_offset(const int* table, int j, int blockShift, int kvHeads, int kvh, int D) {
    int bs = 1 << blockShift;
    return ((static_cast<size_t>(table[j >> blockShift]) * bs + (j & (bs - 1))) * kvHeads + kvh) * D;
}

// Max and sum over the 4 lanes of a quad (the threads holding one accumulator row).
__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

constexpr int BQ = 64;
constexpr int BK = 64;
constexpr int PAD = 8;

// One key tile of the online softmax for a warp's 16 rows (rows rowA and rowB = rowA + 8 of this thread):
// mask (causal and end of context), scale to base 2, update the running max and sum, rescale the
// accumulator, and add P·V with P re-packed from the S accumulators and V fragments read by ldmatrix.trans.
template <int NT, int DT, int LD>
__device__ __forceinline__ void softmax_pv_tile(float (&s)[NT][4], float (&o)[DT][4], float& mA, float& mB, float& lA, float& lB, int k0, int p, int rowA,
                                                int rowB, int ctx, float scaleLog2, const __nv_bfloat16* vt, int lane) {
    const int t = lane & 3;
    float tmA = -CUDART_INF_F, tmB = -CUDART_INF_F;
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
            int j = k0 + nt * 8 + 2 * t + e;
            float va = (j <= p + rowA && j < ctx) ? s[nt][e] * scaleLog2 : -CUDART_INF_F;
            float vb = (j <= p + rowB && j < ctx) ? s[nt][2 + e] * scaleLog2 : -CUDART_INF_F;
            s[nt][e] = va;
            s[nt][2 + e] = vb;
            tmA = fmaxf(tmA, va);
            tmB = fmaxf(tmB, vb);
        }
    }
    tmA = quad_max(tmA);
    tmB = quad_max(tmB);
    const float nmA = fmaxf(mA, tmA), nmB = fmaxf(mB, tmB);
    const float aA = exp2f(mA - nmA), aB = exp2f(mB - nmB);
    mA = nmA;
    mB = nmB;
    lA *= aA;
    lB *= aB;
#pragma unroll
    for (int i = 0; i < DT; i++) {
        o[i][0] *= aA;
        o[i][1] *= aA;
        o[i][2] *= aB;
        o[i][3] *= aB;
    }
#pragma unroll
    for (int kk = 0; kk < NT / 2; kk++) {
        float p0 = exp2f(s[2 * kk][0] - mA), p1 = exp2f(s[2 * kk][1] - mA), p2 = exp2f(s[2 * kk][2] - mB), p3 = exp2f(s[2 * kk][3] - mB);
        float p4 = exp2f(s[2 * kk + 1][0] - mA), p5 = exp2f(s[2 * kk + 1][1] - mA), p6 = exp2f(s[2 * kk + 1][2] - mB), p7 = exp2f(s[2 * kk + 1][3] - mB);
        lA += p0 + p1 + p4 + p5;
        lB += p2 + p3 + p6 + p7;
        uint32_t a[4] = {pack_bf16(p0, p1), pack_bf16(p2, p3), pack_bf16(p4, p5), pack_bf16(p6, p7)};
        const __nv_bfloat16* vr = vt + (kk * 16 + (lane & 15)) * LD;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            uint32_t b0, b1;
            ldmatrix_x2_trans(b0, b1, vr + dt * 8);
            mma_bf16_16816(o[dt], a, b0, b1);
        }
    }
}

// Divides by the row sums (reduced over the quad) and writes this thread's part of rows rowA and rowB.
template <int D>
__device__ __forceinline__ void store_rows(const float* o, float lA, float lB, __nv_bfloat16* out, int q0, int rowA, int rowB, int n, int heads,
                                           int h, int t) {
    lA = quad_sum(lA);
    lB = quad_sum(lB);
    const float iA = 1.f / lA, iB = 1.f / lB;
    if (rowA < n) {
        uint32_t* oa = reinterpret_cast<uint32_t*>(out + (static_cast<size_t>(q0 + rowA) * heads + h) * D);
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            oa[dt * 4 + t] = pack_bf16(o[dt * 4] * iA, o[dt * 4 + 1] * iA);
        }
    }
    if (rowB < n) {
        uint32_t* ob = reinterpret_cast<uint32_t*>(out + (static_cast<size_t>(q0 + rowB) * heads + h) * D);
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            ob[dt * 4 + t] = pack_bf16(o[dt * 4 + 2] * iB, o[dt * 4 + 3] * iB);
        }
    }
}

// Loads a warp's Q fragments for rows rowA and rowB (zeros past the sequence's new tokens).
template <int KS>
__device__ __forceinline__ void load_q(uint32_t (&qf)[KS][4], const __nv_bfloat16* q, int q0, int rowA, int rowB, int n, int heads, int h, int t) {
    constexpr int D = KS * 16;
    const uint32_t* qa = reinterpret_cast<const uint32_t*>(q + (static_cast<size_t>(q0 + rowA) * heads + h) * D);
    const uint32_t* qb = reinterpret_cast<const uint32_t*>(q + (static_cast<size_t>(q0 + rowB) * heads + h) * D);
#pragma unroll
    for (int ks = 0; ks < KS; ks++) {
        qf[ks][0] = rowA < n ? qa[ks * 8 + t] : 0u;
        qf[ks][1] = rowB < n ? qb[ks * 8 + t] : 0u;
        qf[ks][2] = rowA < n ? qa[ks * 8 + 4 + t] : 0u;
        qf[ks][3] = rowB < n ? qb[ks * 8 + 4 + t] : 0u;
    }
}

template <int D>
__device__ void flash(const __nv_bfloat16* __restrict__ q, __nv_bfloat16* __restrict__ out, const __nv_bfloat16* __restrict__ kc,
                      const __nv_bfloat16* __restrict__ vc, const int* __restrict__ tables, int maxBlocks, int blockShift, int heads, int kvHeads,
                      const int* __restrict__ qStart, const int* __restrict__ qLen, const int* __restrict__ past, const int* __restrict__ tileSeq,
                      const int* __restrict__ tileRow, float scaleLog2) {
    constexpr int LD = D + PAD;
    constexpr int KS = D / 16;  // k-steps of Q·Kᵀ
    constexpr int NT = BK / 8;  // n-tiles of S
    constexpr int DT = D / 8;   // n-tiles of O
    __shared__ __align__(16) __nv_bfloat16 Ks[BK * LD];
    __shared__ __align__(16) __nv_bfloat16 Vs[BK * LD];
    const int tile = blockIdx.x, h = blockIdx.y;
    const int b = tileSeq[tile], r0 = tileRow[tile];
    const int n = qLen[b], p = past[b], q0 = qStart[b];
    const int ctx = p + n;
    const int kvh = h / (heads / kvHeads);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int rowA = r0 + warp * 16 + g, rowB = rowA + 8;
    const int* table = tables + static_cast<size_t>(b) * maxBlocks;

    uint32_t qf[KS][4];
    load_q<KS>(qf, q, q0, rowA, rowB, n, heads, h, t);
    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; i++) {
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    }
    float mA = -CUDART_INF_F, mB = -CUDART_INF_F, lA = 0.f, lB = 0.f;
    const int kEnd = min(ctx, p + r0 + BQ);  // causal bound of the tile's last row
    for (int k0 = 0; k0 < kEnd; k0 += BK) {
        __syncthreads();
        for (int c = threadIdx.x; c < BK * (D / 8); c += blockDim.x) {
            int r = c / (D / 8), ch = c % (D / 8), j = k0 + r;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (j < kEnd) {
                size_t off = kv_offset(table, j, blockShift, kvHeads, kvh, D) + ch * 8;
                kv = *reinterpret_cast<const uint4*>(kc + off);
                vv = *reinterpret_cast<const uint4*>(vc + off);
            }
            *reinterpret_cast<uint4*>(Ks + r * LD + ch * 8) = kv;
            *reinterpret_cast<uint4*>(Vs + r * LD + ch * 8) = vv;
        }
        __syncthreads();
        float s[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
            const __nv_bfloat16* kr = Ks + (nt * 8 + g) * LD + 2 * t;
#pragma unroll
            for (int ks = 0; ks < KS; ks++) {
                uint32_t b0 = *reinterpret_cast<const uint32_t*>(kr + ks * 16);
                uint32_t b1 = *reinterpret_cast<const uint32_t*>(kr + ks * 16 + 8);
                mma_bf16_16816(s[nt], qf[ks], b0, b1);
            }
        }
        softmax_pv_tile<NT, DT, LD>(s, o, mA, mB, lA, lB, k0, p, rowA, rowB, ctx, scaleLog2, Vs, lane);
    }
    store_rows<D>(&o[0][0], lA, lB, out, q0, rowA, rowB, n, heads, h, t);
}

}  // namespace

#define FLASH(D)                                                                                                                              \
    extern "C" __global__ void __launch_bounds__(128) prefill_flash_d##D(                                                                   \
        const __nv_bfloat16* q, __nv_bfloat16* out, const __nv_bfloat16* kc, const __nv_bfloat16* vc, const int* tables, int maxBlocks,      \
        int blockShift, int heads, int kvHeads, const int* qStart, const int* qLen, const int* past, const int* tileSeq, const int* tileRow, \
        float scaleLog2) {                                                                                                                    \
        flash<D>(q, out, kc, vc, tables, maxBlocks, blockShift, heads, kvHeads, qStart, qLen, past, tileSeq, tileRow, scaleLog2);             \
    }
FLASH(64)
FLASH(128)


// ---- v3: 128 query rows per CTA (8 warps), K/V tiles double-buffered with cp.async, K fragments by ldmatrix ----
// v2 loaded each K/V tile synchronously through registers, so every warp waited for the loads and then the
// loads waited for the math (measured on the H100: 108 TFLOP/s at 4K, 0.20× SDPA). v3 issues the next tile's
// loads (cp.async, no registers) before multiplying the current one, halves the K/V traffic per FLOP by serving
// 128 query rows per load, reads K fragments with one ldmatrix.x4 per two MMAs instead of four 32-bit loads,
// and lets a warp whose rows all lie before a tile skip its math (causal). Shared memory: 2 stages × (K + V) ×
// 64 rows × (D + 8) bf16 = 69.6 KB at D = 128 (dynamic, opted in by the launcher).
namespace {
template <int D>
__device__ void flash3(const __nv_bfloat16* __restrict__ q, __nv_bfloat16* __restrict__ out, const __nv_bfloat16* __restrict__ kc,
                       const __nv_bfloat16* __restrict__ vc, const int* __restrict__ tables, int maxBlocks, int blockShift, int heads, int kvHeads,
                       const int* __restrict__ qStart, const int* __restrict__ qLen, const int* __restrict__ past, const int* __restrict__ tileSeq,
                       const int* __restrict__ tileRow, float scaleLog2) {
    constexpr int BQ3 = 128;
    constexpr int LD = D + PAD;
    constexpr int KS = D / 16;
    constexpr int NT = BK / 8;
    constexpr int DT = D / 8;
    constexpr int TILE = BK * LD;  // elements of one K (or V) stage
    extern __shared__ __align__(16) unsigned char smem[];
    __nv_bfloat16* Ks = reinterpret_cast<__nv_bfloat16*>(smem);  // [2][BK][LD]
    __nv_bfloat16* Vs = Ks + 2 * TILE;                            // [2][BK][LD]
    const int tile = blockIdx.x, h = blockIdx.y;
    const int b = tileSeq[tile], r0 = tileRow[tile];
    const int n = qLen[b], p = past[b], q0 = qStart[b];
    const int ctx = p + n;
    const int kvh = h / (heads / kvHeads);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int rowA = r0 + warp * 16 + g, rowB = rowA + 8;
    const int warpLast = p + r0 + warp * 16 + 15;  // the last key any row of this warp sees
    const int* table = tables + static_cast<size_t>(b) * maxBlocks;

    uint32_t qf[KS][4];
    load_q<KS>(qf, q, q0, rowA, rowB, n, heads, h, t);
    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; i++) {
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    }
    float mA = -CUDART_INF_F, mB = -CUDART_INF_F, lA = 0.f, lB = 0.f;
    const int kEnd = min(ctx, p + r0 + BQ3);
    const int nTiles = (kEnd + BK - 1) / BK;
    auto load = [&](int stage, int k0) {
        for (int c = threadIdx.x; c < BK * (D / 8); c += blockDim.x) {
            int r = c / (D / 8), ch = c % (D / 8), j = k0 + r;
            bool ok = j < kEnd;
            size_t off = ok ? kv_offset(table, j, blockShift, kvHeads, kvh, D) + ch * 8 : 0;
            cp_async16(Ks + stage * TILE + r * LD + ch * 8, kc + off, ok ? 16 : 0);
            cp_async16(Vs + stage * TILE + r * LD + ch * 8, vc + off, ok ? 16 : 0);
        }
        cp_async_commit();
    };
    load(0, 0);
    const int mat = lane >> 3, r8 = lane & 7;
    for (int it = 0; it < nTiles; it++) {
        const int k0 = it * BK;
        if (it + 1 < nTiles) {
            load((it + 1) & 1, k0 + BK);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        if (k0 <= warpLast) {
            const __nv_bfloat16* kt = Ks + (it & 1) * TILE;
            const __nv_bfloat16* vt = Vs + (it & 1) * TILE;
            float s[NT][4];
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
            }
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
#pragma unroll
                for (int ks = 0; ks < KS; ks++) {
                    uint32_t r[4];
                    ldmatrix_x4(r, kt + (np * 16 + (mat >> 1) * 8 + r8) * LD + ks * 16 + (mat & 1) * 8);
                    mma_bf16_16816(s[2 * np], qf[ks], r[0], r[1]);
                    mma_bf16_16816(s[2 * np + 1], qf[ks], r[2], r[3]);
                }
            }
            softmax_pv_tile<NT, DT, LD>(s, o, mA, mB, lA, lB, k0, p, rowA, rowB, ctx, scaleLog2, vt, lane);
        }
        __syncthreads();
    }
    store_rows<D>(&o[0][0], lA, lB, out, q0, rowA, rowB, n, heads, h, t);
}
}  // namespace

#define FLASH3(D)                                                                                                                             \
    extern "C" __global__ void __launch_bounds__(256) prefill_flash3_d##D(                                                                  \
        const __nv_bfloat16* q, __nv_bfloat16* out, const __nv_bfloat16* kc, const __nv_bfloat16* vc, const int* tables, int maxBlocks,      \
        int blockShift, int heads, int kvHeads, const int* qStart, const int* qLen, const int* past, const int* tileSeq, const int* tileRow, \
        float scaleLog2) {                                                                                                                    \
        flash3<D>(q, out, kc, vc, tables, maxBlocks, blockShift, heads, kvHeads, qStart, qLen, past, tileSeq, tileRow, scaleLog2);            \
    }
FLASH3(64)
FLASH3(128)

// ---- v1 naive: one sequence per launch ----

// grid (ceil(ctx / 128), n, H), block 128: S[h][i][j] = scale · q_i·k_j, −inf above the diagonal.
extern "C" __global__ void prefill_naive_scores(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ kc, const int* __restrict__ table,
                                                int blockShift, int heads, int kvHeads, int D, int n, int past, float scale, float* __restrict__ S) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y, h = blockIdx.z;
    const int ctx = past + n;
    if (j >= ctx) {
        return;
    }
    float* row = S + (static_cast<size_t>(h) * n + i) * ctx;
    if (j > past + i) {
        row[j] = -CUDART_INF_F;
        return;
    }
    const __nv_bfloat16* kr = kc + kv_offset(table, j, blockShift, kvHeads, h / (heads / kvHeads), D);
    const __nv_bfloat16* qr = q + (static_cast<size_t>(i) * heads + h) * D;
    float acc = 0.f;
    for (int d = 0; d < D; d++) {
        acc += __bfloat162float(qr[d]) * __bfloat162float(kr[d]);
    }
    row[j] = acc * scale;
}

// grid (n, H), block 256: each row of S becomes softmax probabilities, in place.
extern "C" __global__ void prefill_naive_softmax(float* __restrict__ S, int n, int ctx) {
    __shared__ float red[32];
    float* row = S + (static_cast<size_t>(blockIdx.y) * n + blockIdx.x) * ctx;
    float m = -CUDART_INF_F;
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        m = fmaxf(m, row[j]);
    }
    for (int o = 16; o > 0; o >>= 1) {
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    }
    if ((threadIdx.x & 31) == 0) {
        red[threadIdx.x >> 5] = m;
    }
    __syncthreads();
    m = red[0];
    for (int w = 1; w < blockDim.x / 32; w++) {
        m = fmaxf(m, red[w]);
    }
    __syncthreads();
    float sum = 0.f;
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        float e = __expf(row[j] - m);
        row[j] = e;
        sum += e;
    }
    for (int o = 16; o > 0; o >>= 1) {
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    }
    if ((threadIdx.x & 31) == 0) {
        red[threadIdx.x >> 5] = sum;
    }
    __syncthreads();
    sum = 0.f;
    for (int w = 0; w < blockDim.x / 32; w++) {
        sum += red[w];
    }
    const float inv = 1.f / sum;
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        row[j] *= inv;
    }
}

// grid (n, H), block D: out_i = Σ_j P[i][j] · v_j (threads across D read each V row coalesced).
extern "C" __global__ void prefill_naive_pv(const float* __restrict__ S, const __nv_bfloat16* __restrict__ vc, const int* __restrict__ table, int blockShift,
                                            int heads, int kvHeads, int D, int n, int past, __nv_bfloat16* __restrict__ out) {
    const int i = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
    const int ctx = past + n;
    const float* row = S + (static_cast<size_t>(h) * n + i) * ctx;
    const int kvh = h / (heads / kvHeads);
    float acc = 0.f;
    for (int j = 0; j <= past + i; j++) {
        acc += row[j] * __bfloat162float(vc[kv_offset(table, j, blockShift, kvHeads, kvh, D) + d]);
    }
    out[(static_cast<size_t>(i) * heads + h) * D + d] = __float2bfloat16(acc);
}

// ---- v4: Hopper wgmma (sm_90a), D = 128: 128 query rows per CTA, two warpgroups of 64 rows each ----
// v3 peaked at 171 TFLOP/s at 4K (0.32× SDPA) because mma.sync feeds every 16×8×16 step through registers
// (see gemm.cu's v3 for the same wall). v4 keeps the flash algorithm and changes the engine under it:
//   S = Q·Kᵀ   8 wgmma m64n128k16 per 128-key tile, Q and K both read from shared memory (K-major, 128-byte
//              swizzle: Q, K and V tiles are stored as two 64-column halves of 128 rows × 128 bytes);
//   softmax    on the S accumulators in registers, exactly as v3 (base 2, running max and sum per row);
//   O += P·V   8 wgmma m64n128k16 with P from registers (the accumulator layout of S is the A-fragment layout,
//              re-packed to bf16 in place) and V read MN-major from the same swizzled layout (transB = 1), so
//              V is never transposed.
// K/V tiles of 128 keys go through a 3-stage cp.async ring: the next tile's copies run under this tile's math,
// and a tile's O += P·V is left running on the tensor cores across the barrier while the next tile's S = Q·Kᵀ
// is queued behind it (the third stage is what lets the copies not overwrite the V that P·V still reads). A
// warpgroup whose 64 rows all lie before a tile skips it (causal), and masking is done only on tiles that
// cross a warp's diagonal or the end of the context. Softmax keeps the raw maximum and folds the base-2 scale
// into one FMA per score before ex2.approx. Shared memory: Q 32 KB + 3 stages × (K + V) 64 KB + 1 KB alignment
// slack = 225 KB. Not here: FA3's producer warps, TMA, and the ping-pong of two warpgroups' softmax under each
// other's MMAs.
#include "../common/wgmma.cuh"

#if LLMWB_WGMMA
namespace {
constexpr int F4_BQ = 128, F4_BK = 128;
constexpr int F4_HALF = 128 * 128;  // bytes of one 64-column half of a 128-row tile
constexpr int F4_TILE = 2 * F4_HALF;
constexpr int F4_STAGES = 3;

__device__ __forceinline__ float ex2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
}
#endif

extern "C" __global__ void __launch_bounds__(256, 1) prefill_flash4_d128(const __nv_bfloat16* __restrict__ q, __nv_bfloat16* __restrict__ out,
                                                                         const __nv_bfloat16* __restrict__ kc, const __nv_bfloat16* __restrict__ vc,
                                                                         const int* __restrict__ tables, int maxBlocks, int blockShift, int heads,
                                                                         int kvHeads, const int* __restrict__ qStart, const int* __restrict__ qLen,
                                                                         const int* __restrict__ past, const int* __restrict__ tileSeq,
                                                                         const int* __restrict__ tileRow, float scaleLog2) {
#if LLMWB_WGMMA
    constexpr int D = 128;
    extern __shared__ __align__(16) unsigned char f4_raw[];
    unsigned char* sm = align_1024_shared(f4_raw);
    unsigned char* Qs = sm;
    // grid (heads, tiles): the heads of a tile are launched together, so the CTAs start longest tile first across
    // all heads (the launcher sorts the tiles) and the query heads sharing a KV head read its tiles from L2
    const int tile = blockIdx.y, h = blockIdx.x;
    const int b = tileSeq[tile], r0 = tileRow[tile];
    const int n = qLen[b], p = past[b], q0 = qStart[b];
    const int ctx = p + n;
    const int kvh = h / (heads / kvHeads);
    const int tid = threadIdx.x, wg = tid >> 7, w4 = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int rowA = r0 + wg * 64 + w4 * 16 + g, rowB = rowA + 8;
    const int warpFirst = p + r0 + wg * 64 + w4 * 16;  // position of this warp's first row
    const int wgLast = p + r0 + wg * 64 + 63;           // position of this warpgroup's last row
    const int* table = tables + static_cast<size_t>(b) * maxBlocks;
    const int kEnd = min(ctx, p + r0 + F4_BQ);
    const int nTiles = (kEnd + F4_BK - 1) / F4_BK;

    // Stage s holds K at F4_TILE + s · 2 F4_TILE and V right after it. Each thread copies one 16-byte column chunk (tid % 16) of the rows tid / 16 + 16 i.
    const int cch = tid & 15, crow = tid >> 4;
    auto dst = [&](unsigned char* base, int row) { return base + (cch >> 3) * F4_HALF + row * 128 + (((cch & 7) ^ (row & 7)) << 4); };
#pragma unroll
    for (int i = 0; i < 8; i++) {
        int row = crow + 16 * i;
        bool ok = r0 + row < n;
        const __nv_bfloat16* src = q + (static_cast<size_t>(q0 + r0 + row) * heads + h) * D + cch * 8;
        cp_async16(dst(Qs, row), ok ? src : q, ok ? 16 : 0);
    }
    auto load = [&](int stage, int k0) {
        unsigned char* ks = sm + F4_TILE + stage * 2 * F4_TILE;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int row = crow + 16 * i, j = k0 + row;
            bool ok = j < kEnd;
            size_t off = ok ? kv_offset(table, j, blockShift, kvHeads, kvh, D) + cch * 8 : 0;
            cp_async16(dst(ks, row), kc + off, ok ? 16 : 0);
            cp_async16(dst(ks + F4_TILE, row), vc + off, ok ? 16 : 0);
        }
    };
    load(0, 0);
    cp_async_commit();

    float o[64], s[64];
#pragma unroll
    for (int i = 0; i < 64; i++) {
        o[i] = 0.f;
        s[i] = 0.f;
    }
    float mA = -CUDART_INF_F, mB = -CUDART_INF_F, lA = 0.f, lB = 0.f;
    const uint64_t qDesc = wgmma_desc_sw128(Qs + wg * 64 * 128);
    for (int it = 0; it < nTiles; it++) {
        const int k0 = it * F4_BK;
        cp_async_wait<0>();
        fence_proxy_async();
        // Tile it is in shared memory, and both warpgroups are done with tile it − 2 (their P·V of tile it − 1 may
        // still be running), so its stage takes tile it + 1.
        __syncthreads();
        if (it + 1 < nTiles) {
            load((it + 1) % F4_STAGES, k0 + F4_BK);
        }
        cp_async_commit();
        if (k0 > wgLast) {
            wgmma_wait<0>();  // every row of this warpgroup lies before the tile; let its last P·V finish
            continue;
        }
        const unsigned char* ks = sm + F4_TILE + (it % F4_STAGES) * 2 * F4_TILE;
        const uint64_t kDesc = wgmma_desc_sw128(ks);
        const uint64_t vDesc = wgmma_desc_sw128(ks + F4_TILE, F4_HALF, 1024);
        wgmma_fence_regs(s);
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const uint64_t off = static_cast<uint64_t>(((j >> 2) * F4_HALF + (j & 3) * 32) >> 4);
            wgmma_m64n128k16_ss(s, qDesc + off, kDesc + off, j > 0 ? 1 : 0);
        }
        wgmma_commit();
        wgmma_wait<0>();  // this S, and the P·V of the tile before
        wgmma_fence_regs(s);
        wgmma_fence_regs(o);

        const bool full = k0 + F4_BK - 1 <= warpFirst && k0 + F4_BK <= ctx;
        float tmA = -CUDART_INF_F, tmB = -CUDART_INF_F;
#pragma unroll
        for (int i = 0; i < 16; i++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                float va = s[4 * i + e], vb = s[4 * i + 2 + e];
                if (!full) {
                    int j = k0 + i * 8 + 2 * t + e;
                    va = (j <= p + rowA && j < ctx) ? va : -CUDART_INF_F;
                    vb = (j <= p + rowB && j < ctx) ? vb : -CUDART_INF_F;
                }
                s[4 * i + e] = va;
                s[4 * i + 2 + e] = vb;
                tmA = fmaxf(tmA, va);
                tmB = fmaxf(tmB, vb);
            }
        }
        tmA = quad_max(tmA);
        tmB = quad_max(tmB);
        const float nmA = fmaxf(mA, tmA), nmB = fmaxf(mB, tmB);
        const float aA = ex2_approx((mA - nmA) * scaleLog2), aB = ex2_approx((mB - nmB) * scaleLog2);
        mA = nmA;
        mB = nmB;
        const float msA = mA * scaleLog2, msB = mB * scaleLog2;
        lA *= aA;
        lB *= aB;
#pragma unroll
        for (int i = 0; i < 16; i++) {
            o[4 * i] *= aA;
            o[4 * i + 1] *= aA;
            o[4 * i + 2] *= aB;
            o[4 * i + 3] *= aB;
        }
        uint32_t pf[8][4];
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
            const float* s0 = s + 8 * kk;  // n8 chunks 2kk and 2kk + 1
            float p0 = ex2_approx(fmaf(s0[0], scaleLog2, -msA)), p1 = ex2_approx(fmaf(s0[1], scaleLog2, -msA));
            float p2 = ex2_approx(fmaf(s0[2], scaleLog2, -msB)), p3 = ex2_approx(fmaf(s0[3], scaleLog2, -msB));
            float p4 = ex2_approx(fmaf(s0[4], scaleLog2, -msA)), p5 = ex2_approx(fmaf(s0[5], scaleLog2, -msA));
            float p6 = ex2_approx(fmaf(s0[6], scaleLog2, -msB)), p7 = ex2_approx(fmaf(s0[7], scaleLog2, -msB));
            lA += p0 + p1 + p4 + p5;
            lB += p2 + p3 + p6 + p7;
            pf[kk][0] = pack_bf16(p0, p1);
            pf[kk][1] = pack_bf16(p2, p3);
            pf[kk][2] = pack_bf16(p4, p5);
            pf[kk][3] = pack_bf16(p6, p7);
        }
        wgmma_fence_regs(o);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
            wgmma_m64n128k16_rs<1>(o, pf[kk], vDesc + static_cast<uint64_t>((kk * 16 * 128) >> 4), 1);  // keys 16kk .. 16kk + 15
        }
        wgmma_commit();  // left running: the next tile's S queues behind it
    }
    wgmma_wait<0>();
    wgmma_fence_regs(o);
    cp_async_wait<0>();

    // the wgmma accumulator holds, per 8-column group, the same 4 values the mma.sync kernels keep in o[dt][0..3]
    store_rows<D>(o, lA, lB, out, q0, rowA, rowB, n, heads, h, t);
#else
    __trap();
#endif
}
