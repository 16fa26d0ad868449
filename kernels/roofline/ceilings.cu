// Ceilings: the kernels `llmwb ceilings` times to measure a GPU's own roofs.
// Built by kernels/pom.xml: nvcc -O3 --fatbin -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=compute_80
//
//   copy_f4_v1   grid-stride float4 copy: one 16-byte load and store per thread per step.
//   copy_f4_v2   same, 4 independent 16-byte loads in flight per thread before the stores (more bytes in
//                flight per SM hides HBM latency) with streaming (evict-first) hints: the copied data is
//                never reused, so it should not push anything else out of L2.
//   fma_fp32     8 independent FMA chains per thread: enough independent work per warp to keep every
//                FP32 lane busy every cycle; the result is stored so the compiler cannot drop the loop.
//   mma_bf16     mma.sync m16n8k16 BF16 → FP32 with 8 independent accumulator tiles per warp (the tensor
//                pipe's latency is covered by the other tiles). This is the warp-level MMA path; Hopper's
//                warpgroup wgmma path is faster still, so this roof is "mma.sync", not the datasheet peak.
//   wgmma_bf16   Hopper only (sm_90a; traps elsewhere, the launcher asks for compute capability 9.0): one
//                warpgroup per CTA issues wgmma m64n256k16 from shared memory (both operands, 128-byte swizzle)
//                four at a time and keeps one group of four in flight while issuing the next — the rate the
//                wgmma GEMM and flash v4 are measured against. Two CTAs per SM.
//
// Bytes and FLOPs (counted by the Java launcher): copy moves 2 × n × 16 bytes (read + write);
// fma does threads × iters × 8 chains × 2 FLOPs; mma does warps × iters × 8 tiles × (2·16·8·16) FLOPs;
// wgmma does CTAs × iters × 4 × (2·64·256·16) FLOPs.
#include <cuda_bf16.h>
#include <stdint.h>

extern "C" __global__ void copy_f4_v1(const float4* __restrict__ src, float4* __restrict__ dst, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        dst[i] = src[i];
    }
}

extern "C" __global__ void copy_f4_v2(const float4* __restrict__ src, float4* __restrict__ dst, long long n) {
    const int U = 4;
    long long stride = (long long)gridDim.x * blockDim.x * U;
    for (long long base = (long long)blockIdx.x * blockDim.x * U + threadIdx.x; base < n; base += stride) {
        float4 v[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            long long i = base + (long long)u * blockDim.x;
            if (i < n) v[u] = __ldcs(src + i);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            long long i = base + (long long)u * blockDim.x;
            if (i < n) __stcs(dst + i, v[u]);
        }
    }
}

extern "C" __global__ void fma_fp32(float* out, int iters, float a, float b) {
    float x0 = threadIdx.x * 1e-3f, x1 = x0 + 1, x2 = x0 + 2, x3 = x0 + 3, x4 = x0 + 4, x5 = x0 + 5, x6 = x0 + 6, x7 = x0 + 7;
    for (int i = 0; i < iters; i++) {
        x0 = fmaf(x0, a, b); x1 = fmaf(x1, a, b); x2 = fmaf(x2, a, b); x3 = fmaf(x3, a, b);
        x4 = fmaf(x4, a, b); x5 = fmaf(x5, a, b); x6 = fmaf(x6, a, b); x7 = fmaf(x7, a, b);
    }
    out[(long long)blockIdx.x * blockDim.x + threadIdx.x] = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
}

extern "C" __global__ void mma_bf16(float* out, int iters) {
    // operands derived from the thread id so the compiler cannot fold them; their values do not matter
    uint32_t a0 = 0x3f803f80u ^ threadIdx.x, a1 = a0 ^ 1u, a2 = a0 ^ 2u, a3 = a0 ^ 3u;
    uint32_t b0 = 0x3f003f00u ^ threadIdx.x, b1 = b0 ^ 5u;
    float c[8][4];
#pragma unroll
    for (int t = 0; t < 8; t++) {
        c[t][0] = c[t][1] = c[t][2] = c[t][3] = 0.f;
    }
    for (int i = 0; i < iters; i++) {
#pragma unroll
        for (int t = 0; t < 8; t++) {
            asm volatile(
                "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                : "+f"(c[t][0]), "+f"(c[t][1]), "+f"(c[t][2]), "+f"(c[t][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
        }
    }
    float s = 0.f;
#pragma unroll
    for (int t = 0; t < 8; t++) {
        s += c[t][0] + c[t][1] + c[t][2] + c[t][3];
    }
    out[(long long)blockIdx.x * blockDim.x + threadIdx.x] = s;
}

#include "../common/mma.cuh"
#include "../common/wgmma.cuh"

// 128 threads, 41 KB of dynamic shared memory (A 64×64 and B 256×64 bf16 + 1 KB alignment slack). The operand
// values do not change the tensor-core rate; they are zeroed so no NaN or denormal path is ever in question.
extern "C" __global__ void __launch_bounds__(128) wgmma_bf16(float* out, int iters) {
#if LLMWB_WGMMA
    extern __shared__ __align__(16) unsigned char wc_raw[];
    unsigned char* sm = align_1024_shared(wc_raw);
    for (int i = threadIdx.x; i < (64 + 256) * 64 * 2 / 16; i += blockDim.x) {
        reinterpret_cast<uint4*>(sm)[i] = make_uint4(0, 0, 0, 0);
    }
    fence_proxy_async();
    __syncthreads();
    const uint64_t da = wgmma_desc_sw128(sm), db = wgmma_desc_sw128(sm + 64 * 128);
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; i++) acc[i] = 0.f;
    for (int it = 0; it < iters; it++) {
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < 4; j++) {
            wgmma_m64n256k16_ss(acc, da + 2 * j, db + 2 * j, 1);
        }
        wgmma_commit();
        wgmma_wait<1>();
    }
    wgmma_wait<0>();
    wgmma_fence_regs(acc);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 128; i++) s += acc[i];
    out[static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x] = s;
#else
    __trap();
#endif
}
