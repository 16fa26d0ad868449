// FP8 conversions with a per-tensor scale (OCP FP8: E4M3 max 448, no infinities; E5M2 max 57344).
// Built by kernels/pom.xml (see roofline/ceilings.cu for the flags).
//
//   fp8_<e4m3|e5m2>_from_bf16   q = saturate(round_to_nearest_even(x / scale))   (the caller passes 1 / scale)
//   bf16_from_fp8_<e4m3|e5m2>   x = q * scale
// Grid-stride over n elements; each thread converts 8 values per step (one 16-byte load of bf16, one
// 8-byte store of fp8), using the hardware conversions of sm_89+ (software paths on older GPUs).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

namespace {

template <__nv_fp8_interpretation_t F>
__device__ void toFp8(const __nv_bfloat16* __restrict__ in, uint8_t* __restrict__ out, long long n, float invScale) {
    const long long stride = (long long)gridDim.x * blockDim.x * 8;
    for (long long i = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * 8; i < n; i += stride) {
        if (i + 8 <= n) {
            const uint4 raw = *reinterpret_cast<const uint4*>(in + i);
            const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&raw);
            uint8_t q[8];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const float2 f = __bfloat1622float2(p[j]);
                q[2 * j] = __nv_cvt_float_to_fp8(f.x * invScale, __NV_SATFINITE, F);
                q[2 * j + 1] = __nv_cvt_float_to_fp8(f.y * invScale, __NV_SATFINITE, F);
            }
            *reinterpret_cast<uint2*>(out + i) = *reinterpret_cast<const uint2*>(q);
        } else {
            for (long long k = i; k < n; k++) out[k] = __nv_cvt_float_to_fp8(__bfloat162float(in[k]) * invScale, __NV_SATFINITE, F);
        }
    }
}

template <__nv_fp8_interpretation_t F>
__device__ void fromFp8(const uint8_t* __restrict__ in, __nv_bfloat16* __restrict__ out, long long n, float scale) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const __half_raw h = __nv_cvt_fp8_to_halfraw(in[i], F);
        out[i] = __float2bfloat16(__half2float(__half(h)) * scale);
    }
}

}  // namespace

extern "C" __global__ void fp8_e4m3_from_bf16(const __nv_bfloat16* in, uint8_t* out, long long n, float invScale) { toFp8<__NV_E4M3>(in, out, n, invScale); }
extern "C" __global__ void fp8_e5m2_from_bf16(const __nv_bfloat16* in, uint8_t* out, long long n, float invScale) { toFp8<__NV_E5M2>(in, out, n, invScale); }
extern "C" __global__ void bf16_from_fp8_e4m3(const uint8_t* in, __nv_bfloat16* out, long long n, float scale) { fromFp8<__NV_E4M3>(in, out, n, scale); }
extern "C" __global__ void bf16_from_fp8_e5m2(const uint8_t* in, __nv_bfloat16* out, long long n, float scale) { fromFp8<__NV_E5M2>(in, out, n, scale); }
