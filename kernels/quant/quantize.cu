// Weight quantizers on the GPU, producing exactly the layouts the GEMV kernels read, bit-exact with the
// Java reference (org.llmwb.backend.cpu.Quantize): same float operations in the same order, IEEE division,
// round-half-up like Java's Math.round.
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
//   quant_int8_rows    per output row: s = max|w| / 127 (1 if all zero), q = clamp(round(w / s), −127, 127)
//   quant_int4_groups  per group of 128 along K: symmetric s = max|w| / 7, q = clamp(round(w / s), −8, 7) + 8;
//                      asymmetric s = (max − min) / 15, z = clamp(round(−min / s), 0, 15), q = clamp(round(w / s) + z, 0, 15);
//                      two values per byte, element 2i in the low nibble
//   nvfp4_quant        NVFP4, emulated (Hopper has no FP4 tensor cores): blocks of 16 share an E4M3 scale
//                      s_b = e4m3(absmax_b / (6 · g)) with a per-tensor FP32 scale g; values are E2M1
//                      (±{0, 0.5, 1, 1.5, 2, 3, 4, 6}) of x / (s_b · g), nearest with ties to even
//   nvfp4_dequant      x = e2m1(q) · s_b · g
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ float javaRound(float x) { return floorf(x + 0.5f); }  // Java's Math.round for floats

__device__ __forceinline__ float warpMax(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warpMin(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// E2M1 magnitudes by code 0..7
__constant__ float kE2M1[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};

__device__ __forceinline__ uint32_t e2m1(float x) {
    const uint32_t sign = x < 0.f ? 8u : 0u;
    const float a = fabsf(x);
    uint32_t best = 0;
    float bestD = a;
    for (uint32_t c = 1; c < 8; c++) {
        const float d = fabsf(a - kE2M1[c]);
        if (d < bestD || (d == bestD && (c & 1u) == 0u)) {  // ties to the even code
            bestD = d;
            best = c;
        }
    }
    return sign | best;
}

}  // namespace

// one warp per row; rows of any length
extern "C" __global__ void quant_int8_rows(const __nv_bfloat16* __restrict__ w, int8_t* __restrict__ q, float* __restrict__ scales, int cols) {
    const long long row = (long long)blockIdx.x * cols;
    float m = 0.f;
    for (int i = threadIdx.x; i < cols; i += 32) m = fmaxf(m, fabsf(__bfloat162float(w[row + i])));
    m = warpMax(m);
    const float s = m == 0.f ? 1.f : m / 127.f;
    if (threadIdx.x == 0) scales[blockIdx.x] = s;
    for (int i = threadIdx.x; i < cols; i += 32) {
        q[row + i] = (int8_t)fmaxf(-127.f, fminf(127.f, javaRound(__bfloat162float(w[row + i]) / s)));
    }
}

// grid (rows, groups), one warp per group of 128: 4 consecutive values per lane, packed into 2 bytes
extern "C" __global__ void quant_int4_groups(const __nv_bfloat16* __restrict__ w, uint8_t* __restrict__ packed, float* __restrict__ scales,
        uint8_t* __restrict__ zeros, int cols, int asymmetric) {
    const int r = blockIdx.x, g = blockIdx.y, lane = threadIdx.x;
    const long long base = (long long)r * cols + g * 128 + lane * 4;
    float v[4];
    float mn = INFINITY, mx = -INFINITY;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        v[j] = __bfloat162float(w[base + j]);
        mn = fminf(mn, v[j]);
        mx = fmaxf(mx, v[j]);
    }
    mn = warpMin(mn);
    mx = warpMax(mx);
    const long long gi = (long long)r * gridDim.y + g;
    float s;
    float z;
    if (asymmetric) {
        s = mx > mn ? (mx - mn) / 15.f : 1.f;
        z = fmaxf(0.f, fminf(15.f, javaRound(-mn / s)));
        if (lane == 0) zeros[gi] = (uint8_t)z;
    } else {
        const float a = fmaxf(fabsf(mn), fabsf(mx));
        s = a == 0.f ? 1.f : a / 7.f;
        z = 8.f;
    }
    if (lane == 0) scales[gi] = s;
    uint32_t nib[4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const float qv = asymmetric ? fmaxf(0.f, fminf(15.f, javaRound(v[j] / s) + z)) : fmaxf(-8.f, fminf(7.f, javaRound(v[j] / s))) + 8.f;
        nib[j] = (uint32_t)qv;
    }
    packed[base / 2] = (uint8_t)(nib[0] | (nib[1] << 4));
    packed[base / 2 + 1] = (uint8_t)(nib[2] | (nib[3] << 4));
}

// one thread per block of 16 values; n % 16 == 0
extern "C" __global__ void nvfp4_quant(const __nv_bfloat16* __restrict__ x, uint8_t* __restrict__ packed, uint8_t* __restrict__ blockScales,
        long long n, float globalScale) {
    const long long blocks = n / 16;
    for (long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x; b < blocks; b += (long long)gridDim.x * blockDim.x) {
        float v[16];
        float a = 0.f;
#pragma unroll
        for (int j = 0; j < 16; j++) {
            v[j] = __bfloat162float(x[b * 16 + j]);
            a = fmaxf(a, fabsf(v[j]));
        }
        const __nv_fp8_storage_t sc = __nv_cvt_float_to_fp8(a / (6.f * globalScale), __NV_SATFINITE, __NV_E4M3);
        blockScales[b] = sc;
        const float sb = __half2float(__half(__nv_cvt_fp8_to_halfraw(sc, __NV_E4M3))) * globalScale;
#pragma unroll
        for (int j = 0; j < 16; j += 2) {
            const uint32_t lo = sb == 0.f ? 0u : e2m1(v[j] / sb);
            const uint32_t hi = sb == 0.f ? 0u : e2m1(v[j + 1] / sb);
            packed[b * 8 + j / 2] = (uint8_t)(lo | (hi << 4));
        }
    }
}

extern "C" __global__ void nvfp4_dequant(const uint8_t* __restrict__ packed, const uint8_t* __restrict__ blockScales, __nv_bfloat16* __restrict__ out,
        long long n, float globalScale) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const uint32_t byte = packed[i / 2];
        const uint32_t c = (i & 1) ? byte >> 4 : byte & 0xfu;
        const float mag = kE2M1[c & 7u];
        const float sb = __half2float(__half(__nv_cvt_fp8_to_halfraw(blockScales[i / 16], __NV_E4M3))) * globalScale;
        out[i] = __float2bfloat16((c & 8u ? -mag : mag) * sb);
    }
}
