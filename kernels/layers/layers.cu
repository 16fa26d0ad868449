// Building blocks of a Llama-family forward pass, bf16 in and out, FP32 math inside.
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
//   rmsnorm_bf16     y = x / sqrt(mean(x²) + eps) · w, one CTA per row (dim % 8 == 0)
//   rope_bf16        in-place rotary embedding on x [tokens, heads, headDim], HF "rotate_half" pairing
//                    (i, i + headDim/2), angle = position · invFreq[i]; invFreq comes from the host, which
//                    applies the model's theta and Llama-3 frequency scaling
//   silu_mul_bf16    out[t, i] = silu(gateUp[t, i]) · gateUp[t, I + i] (SwiGLU with gate and up fused)
//   embedding_bf16   out[t] = table[ids[t]] (ids are checked on the host)
//   argmax_f32       index of the largest logit per row (lowest index on ties; NaN never wins)
//   add_bf16         x += y (residual add)
//   rope_qkv_paged_bf16  one launch for what followed the Q/K/V projection: reads the fused projection
//                    qkv [tokens, (hq + 2·hkv) · headDim] (Q heads, then K heads, then V heads), writes the
//                    rotated Q to q [tokens, hq, headDim] and the rotated K and the V into the paged caches
//                    [slots, hkv, headDim] at slots[t] (−1 = padding: no KV write). Same pairing and angles as
//                    rope_bf16; sin/cos are computed once per frequency per token (rope_bf16 does it per head).
//   qkv_bias_norm_bf16   in place on that fused projection, before RoPE: adds the q/k/v bias (Qwen2) and applies
//                    the per-head RMSNorm of Q and K heads (Qwen3's q_norm/k_norm over headDim); either may be absent
//   add_row_bias_bf16    x[t, i] += bias[i] (the o_proj bias of a checkpoint that has one)
//   argmax_rows_bf16     greedy decoding on the GPU: the index of the largest bf16 logit of each listed row (lowest
//                    index on ties, NaN never wins), so a greedy step downloads token ids instead of logits
#include <cuda_bf16.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ float blockSum(float v, float* sh) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float s = 0.f;
    if (threadIdx.x < 32) {
        s = threadIdx.x < blockDim.x / 32 ? sh[threadIdx.x] : 0.f;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (threadIdx.x == 0) sh[0] = s;
    }
    __syncthreads();
    s = sh[0];
    __syncthreads();
    return s;
}

}  // namespace

extern "C" __global__ void rmsnorm_bf16(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ w, __nv_bfloat16* __restrict__ y,
        int dim, float eps) {
    __shared__ float sh[32];
    const long long row = (long long)blockIdx.x * dim;
    float ss = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = __bfloat162float(x[row + i]);
        ss = fmaf(v, v, ss);
    }
    const float inv = rsqrtf(blockSum(ss, sh) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        y[row + i] = __float2bfloat16(__bfloat162float(x[row + i]) * inv * __bfloat162float(w[i]));
    }
}

extern "C" __global__ void rope_bf16(__nv_bfloat16* __restrict__ x, const int* __restrict__ positions, const float* __restrict__ invFreq,
        int heads, int headDim) {
    const int t = blockIdx.x;
    const int half = headDim / 2;
    const float pos = (float)positions[t];
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        const int h = idx / half, i = idx % half;
        float s, c;
        sincosf(pos * invFreq[i], &s, &c);  // accurate sincos: angles reach 10^5 rad at long positions
        const long long base = ((long long)t * heads + h) * headDim;
        const float x1 = __bfloat162float(x[base + i]);
        const float x2 = __bfloat162float(x[base + i + half]);
        x[base + i] = __float2bfloat16(x1 * c - x2 * s);
        x[base + i + half] = __float2bfloat16(x2 * c + x1 * s);
    }
}

// grid (tokens, ceil((hq + hkv) / 8)): a CTA rotates 8 heads of one token (Q or K heads; a K head's CTA also
// copies that head's V). headDim ≤ 256.
extern "C" __global__ void rope_qkv_paged_bf16(const __nv_bfloat16* __restrict__ qkv, const int* __restrict__ positions,
        const float* __restrict__ invFreq, __nv_bfloat16* __restrict__ q, __nv_bfloat16* __restrict__ kCache,
        __nv_bfloat16* __restrict__ vCache, const int* __restrict__ slots, int hq, int hkv, int headDim) {
    __shared__ float sn[128];
    __shared__ float cs[128];
    const int t = blockIdx.x;
    const int half = headDim / 2;
    const float pos = (float)positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x) sincosf(pos * invFreq[i], &sn[i], &cs[i]);
    __syncthreads();
    const int slot = slots[t];
    const __nv_bfloat16* row = qkv + (long long)t * (hq + 2 * hkv) * headDim;
    const int h0 = blockIdx.y * 8;
    const int h1 = min(hq + hkv, h0 + 8);
    for (int idx = threadIdx.x; idx < (h1 - h0) * half; idx += blockDim.x) {
        const int h = h0 + idx / half;  // K head h − hq sits right after the Q heads: its offset is h · headDim too
        const int i = idx % half;
        const float x1 = __bfloat162float(row[h * headDim + i]);
        const float x2 = __bfloat162float(row[h * headDim + i + half]);
        const __nv_bfloat16 o1 = __float2bfloat16(x1 * cs[i] - x2 * sn[i]);
        const __nv_bfloat16 o2 = __float2bfloat16(x2 * cs[i] + x1 * sn[i]);
        if (h < hq) {
            __nv_bfloat16* dst = q + ((long long)t * hq + h) * headDim;
            dst[i] = o1;
            dst[i + half] = o2;
        } else if (slot >= 0) {
            const int kh = h - hq;
            const long long at = ((long long)slot * hkv + kh) * headDim;
            kCache[at + i] = o1;
            kCache[at + i + half] = o2;
            const __nv_bfloat16* vRow = row + (hq + hkv) * headDim + kh * headDim;
            vCache[at + i] = vRow[i];
            vCache[at + i + half] = vRow[i + half];
        }
    }
}

extern "C" __global__ void silu_mul_bf16(const __nv_bfloat16* __restrict__ gateUp, __nv_bfloat16* __restrict__ out, long long tokens, int inter) {
    const long long n = tokens * inter;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (long long)gridDim.x * blockDim.x) {
        const long long t = k / inter;
        const int i = (int)(k % inter);
        const float g = __bfloat162float(gateUp[t * 2 * inter + i]);
        const float u = __bfloat162float(gateUp[t * 2 * inter + inter + i]);
        out[k] = __float2bfloat16(g / (1.f + expf(-g)) * u);
    }
}

extern "C" __global__ void embedding_bf16(const __nv_bfloat16* __restrict__ table, const int* __restrict__ ids, __nv_bfloat16* __restrict__ out,
        int dim) {
    const long long src = (long long)ids[blockIdx.x] * dim;
    const long long dst = (long long)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) out[dst + i] = table[src + i];
}

extern "C" __global__ void argmax_f32(const float* __restrict__ logits, int* __restrict__ out, int vocab) {
    __shared__ float bv[32];
    __shared__ int bi[32];
    const long long row = (long long)blockIdx.x * vocab;
    float best = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float v = logits[row + i];
        if (v > best || (v == best && i < idx)) {
            best = v;
            idx = i;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ov > best || (ov == best && oi < idx)) {
            best = ov;
            idx = oi;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        bv[warp] = best;
        bi[warp] = idx;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < blockDim.x / 32; w++) {
            if (bv[w] > best || (bv[w] == best && bi[w] < idx)) {
                best = bv[w];
                idx = bi[w];
            }
        }
        out[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}

// x[i] += y[i] over n bf16 values (the residual add after attention and after the MLP), 8 per thread per
// step with 16-byte loads when n % 8 == 0, else one at a time.
extern "C" __global__ void add_bf16(__nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ y, long n) {
    const long stride = static_cast<long>(gridDim.x) * blockDim.x;
    long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n % 8 == 0) {
        for (long v = i; v < n / 8; v += stride) {
            uint4 a = reinterpret_cast<uint4*>(x)[v];
            const uint4 b = reinterpret_cast<const uint4*>(y)[v];
            __nv_bfloat162* pa = reinterpret_cast<__nv_bfloat162*>(&a);
            const __nv_bfloat162* pb = reinterpret_cast<const __nv_bfloat162*>(&b);
#pragma unroll
            for (int k = 0; k < 4; k++) {
                float2 fa = __bfloat1622float2(pa[k]), fb = __bfloat1622float2(pb[k]);
                pa[k] = __floats2bfloat162_rn(fa.x + fb.x, fa.y + fb.y);
            }
            reinterpret_cast<uint4*>(x)[v] = a;
        }
    } else {
        for (long v = i; v < n; v += stride) {
            x[v] = __float2bfloat16(__bfloat162float(x[v]) + __bfloat162float(y[v]));
        }
    }
}

// grid (tokens, ceil((hq + 2·hkv) / 4)), 128 threads: one warp per head of one token row of the fused projection
// qkv [tokens, (hq + 2·hkv) · headDim]. The bias (when not null) is added first, in FP32, rounded to bf16 as the
// projection's output is; then Q heads (h < hq) are normed with qNorm and K heads (hq ≤ h < hq + hkv) with kNorm
// (when not null): y = x / sqrt(mean(x²) + eps) · w over the head's headDim values. V heads only get their bias.
// headDim ≤ 256 and even.
extern "C" __global__ void qkv_bias_norm_bf16(__nv_bfloat16* __restrict__ qkv, const __nv_bfloat16* __restrict__ bias,
        const __nv_bfloat16* __restrict__ qNorm, const __nv_bfloat16* __restrict__ kNorm, int hq, int hkv, int headDim, float eps) {
    const int heads = hq + 2 * hkv;
    const int head = blockIdx.y * 4 + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (head >= heads) return;
    __nv_bfloat16* row = qkv + ((long long)blockIdx.x * heads + head) * headDim;
    const __nv_bfloat16* w = head < hq ? qNorm : head < hq + hkv ? kNorm : nullptr;
    float v[8];
    float ss = 0.f;
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const int i = lane + 32 * k;
        v[k] = 0.f;
        if (i < headDim) {
            float a = __bfloat162float(row[i]);
            if (bias != nullptr) a = __bfloat162float(__float2bfloat16(a + __bfloat162float(bias[head * headDim + i])));
            v[k] = a;
            ss = fmaf(a, a, ss);
        }
    }
    float inv = 1.f;
    if (w != nullptr) {
        for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        inv = rsqrtf(ss / headDim + eps);
    }
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const int i = lane + 32 * k;
        if (i < headDim) row[i] = __float2bfloat16(w != nullptr ? v[k] * inv * __bfloat162float(w[i]) : v[k]);
    }
}

extern "C" __global__ void add_row_bias_bf16(__nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ bias, long long tokens, int dim) {
    const long long n = tokens * dim;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (long long)gridDim.x * blockDim.x) {
        x[k] = __float2bfloat16(__bfloat162float(x[k]) + __bfloat162float(bias[k % dim]));
    }
}

// grid n: CTA i scans row rows[i] of logits [*, stride] (bf16, the first `vocab` columns) with 16-byte loads where
// the row is aligned (stride % 8 == 0), and writes its argmax to out[i].
extern "C" __global__ void argmax_rows_bf16(const __nv_bfloat16* __restrict__ logits, const int* __restrict__ rows, int* __restrict__ out,
        int vocab, int stride) {
    __shared__ float bv[32];
    __shared__ int bi[32];
    const __nv_bfloat16* row = logits + (long long)rows[blockIdx.x] * stride;
    float best = -INFINITY;
    int idx = 0x7fffffff;
    const int vec = stride % 8 == 0 ? vocab / 8 : 0;
    for (int c = threadIdx.x; c < vec; c += blockDim.x) {
        const uint4 raw = reinterpret_cast<const uint4*>(row)[c];
        const __nv_bfloat16* v = reinterpret_cast<const __nv_bfloat16*>(&raw);
#pragma unroll
        for (int k = 0; k < 8; k++) {
            const float f = __bfloat162float(v[k]);
            if (f > best) {  // indices rise within a thread: ">" keeps the lowest on ties
                best = f;
                idx = c * 8 + k;
            }
        }
    }
    for (int i = vec * 8 + threadIdx.x; i < vocab; i += blockDim.x) {
        const float f = __bfloat162float(row[i]);
        if (f > best || (f == best && i < idx)) {
            best = f;
            idx = i;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ov > best || (ov == best && oi < idx)) {
            best = ov;
            idx = oi;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        bv[warp] = best;
        bi[warp] = idx;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < blockDim.x / 32; w++) {
            if (bv[w] > best || (bv[w] == best && bi[w] < idx)) {
                best = bv[w];
                idx = bi[w];
            }
        }
        out[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}
