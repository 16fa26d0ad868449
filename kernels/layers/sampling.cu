// Token sampling from logits: temperature, top-k and top-p (nucleus), one CTA per row, reproducible.
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
//   sample_f32   logits [rows, vocab] (FP32), one uniform u in [0, 1) per row from the host (a seeded RNG, so a run
//                can be replayed), temperature > 0, topK (0 = off), topP in (0, 1] (1 = off) → token ids [rows].
//
// Method (no sort): with x = logit / temperature,
//   1. the top-k threshold tk is the k-th largest x, found exactly by bisection over the 32-bit order-preserving
//      integer image of the floats (32 counting passes over the row);
//   2. the top-p threshold tp is the largest value t such that Σ_{x ≥ max(t, tk)} e^(x − max) ≥ topP · Σ_{x ≥ tk} e^(x − max),
//      again by bisection (sums per pass);
//   3. the token is drawn from the kept set {x ≥ max(tk, tp)} in index order: each thread owns a contiguous slice
//      of the vocabulary, slice sums are scanned in thread order, and the thread whose slice holds u · Z walks it.
// Values equal to a threshold are kept, so ties can keep more than k tokens. Everything is in FP32 with a fixed
// summation order, so the same inputs always give the same token.
#include <stdint.h>

namespace {

constexpr int T = 256;

__device__ __forceinline__ uint32_t orderKey(float f) {  // monotone: a < b ⇔ key(a) < key(b)
    const uint32_t b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ float blockSum(float v, float* sh) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
    __syncthreads();
    float s = 0.f;
    for (int w = 0; w < T / 32; w++) s += sh[w];  // every thread sums in the same order
    __syncthreads();
    return s;
}

__device__ float blockMax(float v, float* sh) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
    __syncthreads();
    float m = -INFINITY;
    for (int w = 0; w < T / 32; w++) m = fmaxf(m, sh[w]);
    __syncthreads();
    return m;
}

}  // namespace

extern "C" __global__ void __launch_bounds__(T) sample_f32(const float* __restrict__ logits, const float* __restrict__ uniforms,
        int* __restrict__ out, int vocab, float temperature, int topK, float topP) {
    __shared__ float sh[T / 32];
    __shared__ float slice[T];
    const float* x = logits + (long long)blockIdx.x * vocab;
    const float inv = 1.f / temperature;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += T) m = fmaxf(m, x[i] * inv);
    m = blockMax(m, sh);

    // 1. top-k threshold: the largest key t with count(key ≥ t) ≥ k
    uint32_t lo = 0u, hi = 0xffffffffu;  // invariant: count(≥ lo) ≥ k
    if (topK > 0 && topK < vocab) {
        while (lo < hi) {
            const uint32_t mid = lo + (hi - lo) / 2 + 1;
            float c = 0.f;
            for (int i = threadIdx.x; i < vocab; i += T) c += orderKey(x[i] * inv) >= mid ? 1.f : 0.f;
            if (blockSum(c, sh) >= (float)topK) lo = mid; else hi = mid - 1;
        }
    } else {
        lo = 0u;
    }
    const uint32_t kKey = lo;

    // 2. top-p threshold over the kept set
    uint32_t pKey = kKey;
    if (topP < 1.f) {
        float z = 0.f;
        for (int i = threadIdx.x; i < vocab; i += T) {
            const float v = x[i] * inv;
            if (orderKey(v) >= kKey) z += expf(v - m);
        }
        z = blockSum(z, sh);
        uint32_t plo = kKey, phi = 0xffffffffu;  // invariant: mass(≥ plo) ≥ topP · z
        while (plo < phi) {
            const uint32_t mid = plo + (phi - plo) / 2 + 1;
            float s = 0.f;
            for (int i = threadIdx.x; i < vocab; i += T) {
                const float v = x[i] * inv;
                if (orderKey(v) >= mid) s += expf(v - m);
            }
            if (blockSum(s, sh) >= topP * z) plo = mid; else phi = mid - 1;
        }
        pKey = plo;
    }

    // 3. draw: slice sums in thread order, then the owning thread walks its slice
    const int per = (vocab + T - 1) / T;
    const int b0 = threadIdx.x * per, b1 = min(vocab, b0 + per);
    float s = 0.f;
    for (int i = b0; i < b1; i++) {
        const float v = x[i] * inv;
        if (orderKey(v) >= pKey) s += expf(v - m);
    }
    slice[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float z = 0.f;
        for (int t = 0; t < T; t++) z += slice[t];
        const float target = uniforms[blockIdx.x] * z;
        float acc = 0.f;
        int t = 0;
        while (t < T - 1 && acc + slice[t] <= target) acc += slice[t++];
        int pick = -1;
        for (int i = t * per; i < min(vocab, (t + 1) * per); i++) {
            const float v = x[i] * inv;
            if (orderKey(v) >= pKey) {
                acc += expf(v - m);
                pick = i;
                if (acc > target) break;
            }
        }
        if (pick < 0) {  // rounding left the target past the last kept token: take the last kept one
            for (int i = vocab - 1; i >= 0; i--) {
                if (orderKey(x[i] * inv) >= pKey) { pick = i; break; }
            }
        }
        out[blockIdx.x] = pick;
    }
}
