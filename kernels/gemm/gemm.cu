// Prefill linear layers: C[M, N] = A[M, K] · Wᵀ, A and W bf16 row-major (W [N, K] as PyTorch stores a
// Linear's weight), C bf16, fp32 accumulation. Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
// Requirements the Java launcher checks: N % 8 == 0 and K % 8 == 0 (16-byte rows of 8 elements); any M.
//
//   gemm_bf16_v1: 128×128 output tile per CTA of 8 warps (2 along M × 4 along N, 64×32 per warp), K walked
//      in steps of 32 through two shared-memory stages filled by cp.async (the next step's tiles load while
//      this one is multiplied), fragments read with ldmatrix, mma.sync m16n8k16 on tensor cores: 16 MMAs per
//      warp per 16-wide k-step against 4 ldmatrix.x4, so shared-memory traffic stays below the tensor rate.
//      Rows are padded by 16 bytes (80-byte stride): the 8 rows an ldmatrix reads fall in 8 different bank
//      groups. Out-of-range rows of A or W are zero-filled by cp.async (src-size 0), out-of-range outputs skipped.
//   gemm_bf16_v2: the same tiles and fragments with a 4-stage cp.async ring in dynamic shared memory (80 KB, opted
//      in by the launcher): three k-steps' tiles are in flight while one is multiplied, where v1 had one.
//   Not here (the stretch): Hopper's wgmma with TMA loads and warp specialisation, which is how cuBLAS reaches
//   the sm_90 tensor peak; mma.sync tops out well below it on an H100.
#include <cuda_bf16.h>
#include <stdint.h>

#include "../common/mma.cuh"

namespace {
constexpr int BM = 128, BN = 128, BKT = 32, LDS = BKT + 8;

// One 16-wide k-step of a warp's 64×32 tile: A fragments of 4 m-tiles and W fragments of 4 n-tiles by
// ldmatrix.x4 (6 loads), then 16 MMAs.
__device__ __forceinline__ void warp_kstep(const __nv_bfloat16* as, const __nv_bfloat16* ws, int kk, int wm, int wn, int lane, float (&acc)[4][4][4]) {
    uint32_t af[4][4], bf[4][2];
    const int mat = lane >> 3, r8 = lane & 7;
#pragma unroll
    for (int mt = 0; mt < 4; mt++) {
        // matrices: 0 rows 0-7 cols 0-7 (a0), 1 rows 8-15 cols 0-7 (a1), 2 rows 0-7 cols 8-15 (a2), 3 rows 8-15 cols 8-15 (a3)
        ldmatrix_x4(af[mt], as + (wm * 64 + mt * 16 + (mat & 1) * 8 + r8) * LDS + kk + (mat >> 1) * 8);
    }
#pragma unroll
    for (int np = 0; np < 2; np++) {
        // matrices: 0 n 0-7 k 0-7 (b0 of tile 2np), 1 n 0-7 k 8-15 (b1), 2 n 8-15 k 0-7 (b0 of tile 2np+1), 3 n 8-15 k 8-15
        uint32_t r[4];
        ldmatrix_x4(r, ws + (wn * 32 + np * 16 + (mat >> 1) * 8 + r8) * LDS + kk + (mat & 1) * 8);
        bf[2 * np][0] = r[0];
        bf[2 * np][1] = r[1];
        bf[2 * np + 1][0] = r[2];
        bf[2 * np + 1][1] = r[3];
    }
#pragma unroll
    for (int mt = 0; mt < 4; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++) mma_bf16_16816(acc[mt][nt], af[mt], bf[nt][0], bf[nt][1]);
}

// Writes a warp's 64×32 tile as bf16, skipping rows past M and columns past N.
__device__ __forceinline__ void store_warp_tile(const float (&acc)[4][4][4], __nv_bfloat16* C, int M, int N, int bm, int bn, int wm, int wn, int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < 4; mt++) {
#pragma unroll
        for (int nt = 0; nt < 4; nt++) {
            int col = bn + wn * 32 + nt * 8 + 2 * t;
            int row = bm + wm * 64 + mt * 16 + g;
            if (col < N) {
                if (row < M) {
                    *reinterpret_cast<uint32_t*>(C + static_cast<size_t>(row) * N + col) = pack_bf16(acc[mt][nt][0], acc[mt][nt][1]);
                }
                if (row + 8 < M) {
                    *reinterpret_cast<uint32_t*>(C + static_cast<size_t>(row + 8) * N + col) = pack_bf16(acc[mt][nt][2], acc[mt][nt][3]);
                }
            }
        }
    }
}

// Starts the cp.async copies of one k-step's A and W tiles (128 rows × 4 chunks of 16 bytes each, 2 per thread per operand).
__device__ __forceinline__ void load_tiles(__nv_bfloat16* as, __nv_bfloat16* ws, const __nv_bfloat16* A, const __nv_bfloat16* W, int M, int N, int K, int bm,
                                           int bn, int k0, int tid) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int c = tid + i * 256, r = c >> 2, ch = c & 3, k = k0 + ch * 8;
        int ra = bm + r, rw = bn + r;
        bool okA = ra < M && k < K, okW = rw < N && k < K;
        cp_async16(&as[r * LDS + ch * 8], okA ? A + static_cast<size_t>(ra) * K + k : A, okA ? 16 : 0);
        cp_async16(&ws[r * LDS + ch * 8], okW ? W + static_cast<size_t>(rw) * K + k : W, okW ? 16 : 0);
    }
}
}

extern "C" __global__ void __launch_bounds__(256) gemm_bf16_v1(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ W,
                                                                __nv_bfloat16* __restrict__ C, int M, int N, int K) {
    __shared__ __align__(16) __nv_bfloat16 As[2][BM * LDS];
    __shared__ __align__(16) __nv_bfloat16 Ws[2][BN * LDS];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 2, wn = warp & 3;  // warp tile: rows wm*64 .. +64, cols wn*32 .. +32
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int kTiles = (K + BKT - 1) / BKT;

    auto load = [&](int stage, int kt) {
        load_tiles(As[stage], Ws[stage], A, W, M, N, K, bm, bn, kt * BKT, tid);
        cp_async_commit();
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

    load(0, 0);
    for (int kt = 0; kt < kTiles; kt++) {
        if (kt + 1 < kTiles) {
            load((kt + 1) & 1, kt + 1);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const __nv_bfloat16* as = As[kt & 1];
        const __nv_bfloat16* ws = Ws[kt & 1];
#pragma unroll
        for (int kk = 0; kk < BKT; kk += 16) {
            warp_kstep(as, ws, kk, wm, wn, lane, acc);
        }
        __syncthreads();
    }
    store_warp_tile(acc, C, M, N, bm, bn, wm, wn, lane);
}

namespace {
constexpr int STAGES = 4;
constexpr int STAGE_ELEMS = (BM + BN) * LDS;
}

extern "C" __global__ void __launch_bounds__(256) gemm_bf16_v2(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ W,
                                                                __nv_bfloat16* __restrict__ C, int M, int N, int K) {
    extern __shared__ __align__(16) unsigned char smem[];
    __nv_bfloat16* base = reinterpret_cast<__nv_bfloat16*>(smem);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 2, wn = warp & 3;
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int kTiles = (K + BKT - 1) / BKT;

    auto load = [&](int stage, int kt) {
        __nv_bfloat16* as = base + stage * STAGE_ELEMS;
        load_tiles(as, as + BM * LDS, A, W, M, N, K, bm, bn, kt * BKT, tid);
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < kTiles) {
            load(s, s);
        }
        cp_async_commit();
    }
    for (int kt = 0; kt < kTiles; kt++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        int nextTile = kt + STAGES - 1;
        if (nextTile < kTiles) {
            load(nextTile % STAGES, nextTile);
        }
        cp_async_commit();
        const __nv_bfloat16* as = base + (kt % STAGES) * STAGE_ELEMS;
        const __nv_bfloat16* ws = as + BM * LDS;
#pragma unroll
        for (int kk = 0; kk < BKT; kk += 16) {
            warp_kstep(as, ws, kk, wm, wn, lane, acc);
        }
    }
    cp_async_wait<0>();
    store_warp_tile(acc, C, M, N, bm, bn, wm, wn, lane);
}

// ---- v3: Hopper wgmma (sm_90a), operands staged by cp.async in the 128-byte-swizzled layout ----
// A CTA of two warpgroups computes a 128×256 tile of C; each warpgroup owns 64 rows and issues wgmma m64n256k16
// with both operands read straight from shared memory through descriptors (see common/wgmma.cuh), so no
// ldmatrix and no fragment registers: per 64-wide k-tile a warpgroup issues 4 asynchronous MMAs of 64×256×16.
// Why it beats v2: mma.sync is a warp-wide 16×8×16 step whose operands pass through registers, which caps it
// near two thirds of the H100 tensor peak (measured 650 TFLOP/s by ceilings.cu); wgmma runs 64×256×16 per
// instruction from shared memory at the full rate. K is walked in tiles of 64 through a 4-stage ring (48 KB a
// stage): the copies for tile kt + 2 are issued while tile kt is multiplied and tile kt − 1 may still be in
// the tensor cores (wgmma.wait_group 1), so each stage is reused only after both warpgroups are done with it.
// Not used: TMA (JCuda 12.6 cannot build the tensor-map descriptor) and producer/consumer warp
// specialisation; every thread issues its share of cp.async instead (12 16-byte copies a tile).
// CTAs are rastered in groups of 8 tile-rows so the CTAs running together share W tiles in L2. The C tile is
// staged through shared memory (rows padded by 16 bytes, conflict-free) and written with 16-byte stores.
#include "../common/wgmma.cuh"

#if LLMWB_WGMMA
namespace {
constexpr int W3_BM = 128, W3_BN = 256, W3_BK = 64, W3_STAGES = 4, W3_PREF = 2, W3_GROUP_M = 8;
constexpr int W3_A_BYTES = W3_BM * W3_BK * 2, W3_B_BYTES = W3_BN * W3_BK * 2, W3_STAGE_BYTES = W3_A_BYTES + W3_B_BYTES;
constexpr int W3_C_STRIDE = W3_BN * 2 + 16;  // bytes per staged C row
static_assert(W3_BM * W3_C_STRIDE <= W3_STAGES * W3_STAGE_BYTES, "the C tile reuses the operand ring");
}
#endif

extern "C" __global__ void __launch_bounds__(256, 1) gemm_bf16_wgmma(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ W,
                                                                     __nv_bfloat16* __restrict__ C, int M, int N, int K) {
#if LLMWB_WGMMA
    extern __shared__ __align__(16) unsigned char w3_raw[];
    // Swizzled tiles must start on 1024-byte shared addresses; the launcher asks for 1 KB of slack.
    unsigned char* sm = align_1024_shared(w3_raw);
    const int tid = threadIdx.x, wg = tid >> 7;
    const int mTiles = (M + W3_BM - 1) / W3_BM, nTiles = (N + W3_BN - 1) / W3_BN;
    const int inGroup = W3_GROUP_M * nTiles, group = blockIdx.x / inGroup, firstM = group * W3_GROUP_M;
    const int groupRows = min(mTiles - firstM, W3_GROUP_M);
    const int bm = (firstM + (blockIdx.x % inGroup) % groupRows) * W3_BM;
    const int bn = ((blockIdx.x % inGroup) / groupRows) * W3_BN;
    const int kTiles = (K + W3_BK - 1) / W3_BK;

    // 1024 A chunks then 2048 W chunks of 16 bytes per stage; chunk c of a row lands at position c ^ (row % 8).
    auto load = [&](int stage, int kt) {
        unsigned char* as = sm + stage * W3_STAGE_BYTES;
        unsigned char* ws = as + W3_A_BYTES;
        const int k0 = kt * W3_BK;
#pragma unroll
        for (int i = 0; i < 12; i++) {
            int c = tid + i * 256;
            bool isA = i < 4;
            int cc = isA ? c : c - 1024;
            int row = cc >> 3, ch = cc & 7;
            sw128_load_chunk(isA ? as : ws, isA ? A : W, row, ch, (isA ? bm : bn) + row, isA ? M : N, k0 + ch * 8, K);
        }
    };

    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; i++) acc[i] = 0.f;

#pragma unroll
    for (int s = 0; s < W3_PREF; s++) {
        if (s < kTiles) {
            load(s, s);
        }
        cp_async_commit();
    }
    for (int kt = 0; kt < kTiles; kt++) {
        cp_async_wait<W3_PREF - 1>();
        fence_proxy_async();
        __syncthreads();  // tile kt is in shared memory; every warpgroup is done with tile kt − 2
        if (kt + W3_PREF < kTiles) {
            load((kt + W3_PREF) % W3_STAGES, kt + W3_PREF);
        }
        cp_async_commit();
        const unsigned char* as = sm + (kt % W3_STAGES) * W3_STAGE_BYTES;
        uint64_t da = wgmma_desc_sw128(as + wg * 64 * 128), db = wgmma_desc_sw128(as + W3_A_BYTES);
        wgmma_fence_regs(acc);
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < W3_BK / 16; j++) {
            wgmma_m64n256k16_ss(acc, da + 2 * j, db + 2 * j, 1);  // +32 bytes = the next 16 k
        }
        wgmma_commit();
        wgmma_fence_regs(acc);
        wgmma_wait<1>();
    }
    wgmma_wait<0>();
    wgmma_fence_regs(acc);
    cp_async_wait<0>();
    __syncthreads();

    // Accumulators → bf16 C tile in shared memory → 16-byte global stores.
    const int lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int row0 = wg * 64 + ((tid >> 5) & 3) * 16 + g;
#pragma unroll
    for (int i = 0; i < 32; i++) {
        int col = i * 8 + 2 * t;
        *reinterpret_cast<uint32_t*>(sm + row0 * W3_C_STRIDE + col * 2) = pack_bf16(acc[4 * i], acc[4 * i + 1]);
        *reinterpret_cast<uint32_t*>(sm + (row0 + 8) * W3_C_STRIDE + col * 2) = pack_bf16(acc[4 * i + 2], acc[4 * i + 3]);
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 16; i++) {
        int c = tid + i * 256, row = c >> 5, ch = c & 31;
        int grow = bm + row, gcol = bn + ch * 8;
        if (grow < M && gcol < N) {
            *reinterpret_cast<uint4*>(C + static_cast<size_t>(grow) * N + gcol) = *reinterpret_cast<const uint4*>(sm + row * W3_C_STRIDE + ch * 16);
        }
    }
#else
    __trap();
#endif
}
