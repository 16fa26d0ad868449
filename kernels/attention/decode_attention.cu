// Decode attention: one new query token per sequence against its cached K/V, GQA-aware.
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
// Shapes: q, out [B, H, D]; contiguous cache [B, maxLen, KVH, D]; paged cache [numBlocks, blockSize, KVH, D]
// with blockTables [B, maxBlocksPerSeq] (int32), contextLens [B] and blockShift = log2(blockSize) (block sizes
// are powers of two: a shift and a mask replace a division on every token); element type bf16 or fp16; D = 64 or 128;
// G = H / KVH query heads share one KV head (1, 2, 4 or 8).
//
// Kernel names: decode_attn_<bf16|f16|bf16_kvfp8>_d<D>_g<G>_<contig|paged>, and decode_attn_reduce_<bf16|f16>.
// bf16_kvfp8: bf16 q/out over an FP8 E4M3 cache with per-tensor K and V scales (kScale, vScale: 1 otherwise).
//   v1 (gridDim.z = 1): one CTA per (sequence, KV head) walks the whole context and writes the output.
//   v2 split-K (gridDim.z = P partitions of partitionSize tokens): each CTA handles one partition and writes
//      its partial max, sum and unnormalised output to float workspaces; decode_attn_reduce combines the P
//      partials per (sequence, head). Long contexts get P× more CTAs in flight, so the GPU is filled even
//      when batch × KVH is smaller than the number of SMs.
//
// Why it is shaped this way:
// - One CTA serves all G query heads of a KV head, so each K/V row is read from memory once per group, not
//   G times (the whole point of GQA for decode bandwidth).
// - A K row of one head is D × 2 bytes contiguous; D/8 lanes each load 16 bytes of it, so a warp covers
//   32/(D/8) tokens per step with fully coalesced 16-byte loads.
// - Each warp keeps two steps of U = 4 tokens' loads in flight (the next step's are issued before this one is
//   computed): more bytes in flight per SM, which
//   is what a memory-bound kernel needs to approach HBM bandwidth.
// - Softmax is online (running max m and sum l per head), in base 2 with log2(e) folded into the query scale;
//   the U tokens of a step are scored first and the accumulator rescaled once per step (v1 rescaled per token,
//   which doubled the accumulator FMAs and chained every token on the previous max); partials of the warps' token subsets are merged in shared memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <math_constants.h>
#include <stdint.h>

namespace {

template <typename T> struct Cvt;
template <> struct Cvt<__nv_bfloat16> {
    __device__ static float2 two(uint32_t w) { return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&w)); }
    __device__ static __nv_bfloat16 from(float f) { return __float2bfloat16(f); }
};
template <> struct Cvt<__half> {
    __device__ static float2 two(uint32_t w) { return __half22float2(*reinterpret_cast<__half2*>(&w)); }
    __device__ static __half from(float f) { return __float2half(f); }
};

template <typename T>
__device__ __forceinline__ void unpack8(const uint4& v, float* f) {
    float2 a = Cvt<T>::two(v.x), b = Cvt<T>::two(v.y), c = Cvt<T>::two(v.z), d = Cvt<T>::two(v.w);
    f[0] = a.x; f[1] = a.y; f[2] = b.x; f[3] = b.y; f[4] = c.x; f[5] = c.y; f[6] = d.x; f[7] = d.y;
}

// How a KV element type is loaded: 8 elements per lane per token row (16 bytes of bf16/fp16, 8 of fp8).
template <typename KV> struct KvVec;
template <> struct KvVec<__nv_bfloat16> {
    using V = uint4;
    __device__ static void unpack(const V& v, float* f) { unpack8<__nv_bfloat16>(v, f); }
};
template <> struct KvVec<__half> {
    using V = uint4;
    __device__ static void unpack(const V& v, float* f) { unpack8<__half>(v, f); }
};
template <> struct KvVec<uint8_t> {  // FP8 E4M3, dequantized here: hardware fp8x2 → half2 conversions
    using V = uint2;
    __device__ static void unpack(const V& v, float* f) {
        const uint32_t w[2] = {v.x, v.y};
#pragma unroll
        for (int i = 0; i < 2; i++) {
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)((w[i] >> (16 * j)) & 0xffffu), __NV_E4M3);
                const float2 p = __half22float2(__half2(h));
                f[4 * i + 2 * j] = p.x;
                f[4 * i + 2 * j + 1] = p.y;
            }
        }
    }
};

constexpr int NW = 4;  // warps per CTA

template <typename T, typename KV, int D, int G, bool PAGED>
__device__ void decode_attn(const T* __restrict__ q, const KV* __restrict__ kCache, const KV* __restrict__ vCache,
        const int* __restrict__ blockTables, const int* __restrict__ contextLens, T* __restrict__ out,
        float* __restrict__ pm, float* __restrict__ pl, float* __restrict__ pacc,
        int H, int KVH, int maxLen, int blockShift, int maxBlocks, int partitionSize, float scale, float kScale, float vScale) {
    using Vec = typename KvVec<KV>::V;
    constexpr int LPT = D / 8;       // lanes per token row
    constexpr int TPW = 32 / LPT;    // tokens per warp step
    constexpr int NSLOT = NW * TPW;  // partial results merged at the end
    constexpr int U = 4;  // tokens per subgroup per step; two steps' loads are in flight (double-buffered registers)
    __shared__ float smM[NSLOT][G];
    __shared__ float smL[NSLOT][G];
    __shared__ float smA[NSLOT][G][D];

    const int b = blockIdx.x, kvh = blockIdx.y, part = blockIdx.z;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int sub = lane / LPT, sl = lane % LPT;
    const int ctx = contextLens[b];
    const int start = part * partitionSize;
    const int end = min(ctx, start + partitionSize);
    // log2(e): softmax in base 2; an fp8 cache's K scale is folded into q, its V scale applied once at the end
    const float qscale = scale * 1.4426950408889634f * kScale;

    float qf[G][8];
#pragma unroll
    for (int g = 0; g < G; g++) {
        const uint4 raw = *reinterpret_cast<const uint4*>(q + ((long long)b * H + kvh * G + g) * D + sl * 8);
        unpack8<T>(raw, qf[g]);
#pragma unroll
        for (int j = 0; j < 8; j++) qf[g][j] *= qscale;
    }
    float m[G], l[G], acc[G][8];
#pragma unroll
    for (int g = 0; g < G; g++) {
        m[g] = -CUDART_INF_F;
        l[g] = 0.f;
#pragma unroll
        for (int j = 0; j < 8; j++) acc[g][j] = 0.f;
    }

    // Software pipelining: the K/V loads of step i + 1 are issued before step i is computed, so every warp
    // has a step's bytes in flight while it computes (v4 loaded, waited, then computed: latency-bound, which
    // is why halving the bytes with an fp8 cache did not make it faster). A version that fetched only the
    // block-table entries ahead was measured slower (0.345 vs 0.227 ms at batch 32 × 4096).
    const int stride = NW * TPW;
    const int step = stride * U;
    Vec kr[U], vr[U];
    bool ok[U];
    auto issue = [&](int tw, Vec* kd, Vec* vd, bool* okd) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int t = tw + sub + u * stride;
            okd[u] = t < end;
            if (okd[u]) {
                long long row;
                if (PAGED) {
                    row = ((long long)blockTables[(long long)b * maxBlocks + (t >> blockShift)] << blockShift) + (t & ((1 << blockShift) - 1));
                } else {
                    row = (long long)b * maxLen + t;
                }
                const long long off = (row * KVH + kvh) * D + sl * 8;
                kd[u] = *reinterpret_cast<const Vec*>(kCache + off);
                vd[u] = *reinterpret_cast<const Vec*>(vCache + off);
            }
        }
    };
    issue(start + warp * TPW, kr, vr, ok);
    // the loop bound is the same for the whole warp (full-mask shuffles below); lanes past the end only mask values
    for (int tw = start + warp * TPW; tw < end; tw += step) {
        Vec kn[U], vn[U];
        bool okn[U];
        if (tw + step < end) {
            issue(tw + step, kn, vn, okn);
        } else {
#pragma unroll
            for (int u = 0; u < U; u++) okn[u] = false;
        }
        // scores of all U tokens first (independent dot products and shuffles pipeline well), then one
        // online-softmax update per step: the accumulator is rescaled once per U tokens, not once per token
        float sc[U][G];
#pragma unroll
        for (int u = 0; u < U; u++) {
            // lanes of a subgroup agree on ok[u]; the shuffles stay inside the subgroup
            float kf[8];
            if (ok[u]) KvVec<KV>::unpack(kr[u], kf);
#pragma unroll
            for (int g = 0; g < G; g++) {
                float s = 0.f;
                if (ok[u]) {
#pragma unroll
                    for (int j = 0; j < 8; j++) s = fmaf(qf[g][j], kf[j], s);
                }
#pragma unroll
                for (int o = LPT / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
                sc[u][g] = ok[u] ? s : -CUDART_INF_F;
            }
        }
        float vf[U][8];
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (ok[u]) {
                KvVec<KV>::unpack(vr[u], vf[u]);
            } else {
#pragma unroll
                for (int j = 0; j < 8; j++) vf[u][j] = 0.f;
            }
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float mt = m[g];
#pragma unroll
            for (int u = 0; u < U; u++) mt = fmaxf(mt, sc[u][g]);
            if (mt == -CUDART_INF_F) continue;  // nothing valid for this subgroup yet
            const float corr = exp2f(m[g] - mt);
            float p[U];
            float psum = 0.f;
#pragma unroll
            for (int u = 0; u < U; u++) {
                p[u] = exp2f(sc[u][g] - mt);
                psum += p[u];
            }
            l[g] = fmaf(l[g], corr, psum);
#pragma unroll
            for (int j = 0; j < 8; j++) {
                float a = acc[g][j] * corr;
#pragma unroll
                for (int u = 0; u < U; u++) a = fmaf(p[u], vf[u][j], a);
                acc[g][j] = a;
            }
            m[g] = mt;
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            kr[u] = kn[u];
            vr[u] = vn[u];
            ok[u] = okn[u];
        }
    }

    const int slot = warp * TPW + sub;
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (sl == 0) {
            smM[slot][g] = m[g];
            smL[slot][g] = l[g];
        }
#pragma unroll
        for (int j = 0; j < 8; j++) smA[slot][g][sl * 8 + j] = acc[g][j] * vScale;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < G * D; idx += blockDim.x) {
        const int g = idx / D, d = idx % D;
        float M = -CUDART_INF_F;
        for (int s = 0; s < NSLOT; s++) M = fmaxf(M, smM[s][g]);
        float L = 0.f, A = 0.f;
        if (M != -CUDART_INF_F) {
            for (int s = 0; s < NSLOT; s++) {
                if (smL[s][g] > 0.f) {
                    const float w = exp2f(smM[s][g] - M);
                    L += smL[s][g] * w;
                    A += smA[s][g][d] * w;
                }
            }
        }
        const long long head = (long long)b * H + kvh * G + g;
        if (gridDim.z == 1) {
            out[head * D + d] = Cvt<T>::from(A / L);
        } else {
            const long long pi = head * gridDim.z + part;
            if (d == 0) {
                pm[pi] = M;
                pl[pi] = L;
            }
            pacc[pi * D + d] = A;
        }
    }
}

template <typename T>
__device__ void decode_attn_reduce(const float* __restrict__ pm, const float* __restrict__ pl, const float* __restrict__ pacc,
        T* __restrict__ out, int P, int D) {
    const long long head = (long long)blockIdx.x * gridDim.y + blockIdx.y;
    const int d = threadIdx.x;
    float M = -CUDART_INF_F;
    for (int p = 0; p < P; p++) M = fmaxf(M, pm[head * P + p]);
    float L = 0.f, A = 0.f;
    for (int p = 0; p < P; p++) {
        const float lp = pl[head * P + p];
        if (lp > 0.f) {
            const float w = exp2f(pm[head * P + p] - M);
            L += lp * w;
            A += pacc[(head * P + p) * D + d] * w;
        }
    }
    out[head * D + d] = Cvt<T>::from(A / L);
}

}  // namespace

#define LLMWB_DECODE_ATTN(TN, T, KV, D, G)                                                                                      \
    extern "C" __global__ void __launch_bounds__(NW * 32) decode_attn_##TN##_d##D##_g##G##_contig(                               \
            const T* q, const KV* k, const KV* v, const int* bt, const int* cl, T* out, float* pm, float* pl, float* pacc, int H, \
            int KVH, int maxLen, int bs, int mb, int ps, float scale, float ks, float vs) {                                      \
        decode_attn<T, KV, D, G, false>(q, k, v, bt, cl, out, pm, pl, pacc, H, KVH, maxLen, bs, mb, ps, scale, ks, vs);          \
    }                                                                                                                            \
    extern "C" __global__ void __launch_bounds__(NW * 32) decode_attn_##TN##_d##D##_g##G##_paged(                                \
            const T* q, const KV* k, const KV* v, const int* bt, const int* cl, T* out, float* pm, float* pl, float* pacc, int H, \
            int KVH, int maxLen, int bs, int mb, int ps, float scale, float ks, float vs) {                                      \
        decode_attn<T, KV, D, G, true>(q, k, v, bt, cl, out, pm, pl, pacc, H, KVH, maxLen, bs, mb, ps, scale, ks, vs);           \
    }

#define LLMWB_DECODE_ATTN_ALL_G(TN, T, KV, D)                                                                 \
    LLMWB_DECODE_ATTN(TN, T, KV, D, 1) LLMWB_DECODE_ATTN(TN, T, KV, D, 2) LLMWB_DECODE_ATTN(TN, T, KV, D, 4) \
    LLMWB_DECODE_ATTN(TN, T, KV, D, 8)

LLMWB_DECODE_ATTN_ALL_G(bf16, __nv_bfloat16, __nv_bfloat16, 64)
LLMWB_DECODE_ATTN_ALL_G(bf16, __nv_bfloat16, __nv_bfloat16, 128)
LLMWB_DECODE_ATTN_ALL_G(f16, __half, __half, 64)
LLMWB_DECODE_ATTN_ALL_G(f16, __half, __half, 128)
// FP8 (E4M3) KV cache with bf16 queries and output: half the KV bytes of bf16, dequantized in the kernel
LLMWB_DECODE_ATTN_ALL_G(bf16_kvfp8, __nv_bfloat16, uint8_t, 64)
LLMWB_DECODE_ATTN_ALL_G(bf16_kvfp8, __nv_bfloat16, uint8_t, 128)

extern "C" __global__ void decode_attn_reduce_bf16(const float* pm, const float* pl, const float* pacc, __nv_bfloat16* out, int P, int D) {
    decode_attn_reduce<__nv_bfloat16>(pm, pl, pacc, out, P, D);
}
extern "C" __global__ void decode_attn_reduce_f16(const float* pm, const float* pl, const float* pacc, __half* out, int P, int D) {
    decode_attn_reduce<__half>(pm, pl, pacc, out, P, D);
}
