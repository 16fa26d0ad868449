package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/** Launchers of kernels/roofline/ceilings.cu: copy bandwidth, FP32 FMA peak, BF16 mma.sync peak, BF16 wgmma peak (sm_90). */
public final class Ceilings {
    public static final String MODULE = "roofline/ceilings";
    private final Gpu gpu;
    private boolean wgmmaOptedIn;

    public Ceilings(Gpu gpu) {
        this.gpu = gpu;
    }

    /** Copies {@code bytes} (a multiple of 16) from src to dst; version 1 or 2 (see the .cu header). */
    public void copy(int version, DeviceBuffer src, DeviceBuffer dst, long bytes) {
        if (bytes % 16 != 0 || bytes > src.bytes() || bytes > dst.bytes()) {
            throw new IllegalArgumentException("copy of " + bytes + " bytes: must be a multiple of 16 within both buffers");
        }
        long n = bytes / 16;
        int block = 256;
        int grid = (int) Math.min((n + block - 1) / block, gpu.device().multiprocessors() * 32L);
        gpu.launch(gpu.function(MODULE, "copy_f4_v" + version), Math.max(1, grid), 1, 1, block, 0, src.param(), dst.param(),
                Pointer.to(new long[] {n}));
    }

    /** FLOPs of one {@link #fma} launch: threads × iters × 8 chains × 2. */
    public static double fmaFlops(int blocks, int threads, int iters) {
        return (double) blocks * threads * iters * 8 * 2;
    }

    public void fma(DeviceBuffer out, int blocks, int threads, int iters) {
        gpu.launch(gpu.function(MODULE, "fma_fp32"), blocks, 1, 1, threads, 0, out.param(), Pointer.to(new int[] {iters}),
                Pointer.to(new float[] {0.999f}), Pointer.to(new float[] {1e-3f}));
    }

    /** FLOPs of one {@link #mma} launch: warps × iters × 8 tiles × 2·16·8·16. */
    public static double mmaFlops(int blocks, int threads, int iters) {
        return (double) blocks * (threads / 32) * iters * 8 * 2.0 * 16 * 8 * 16;
    }

    public void mma(DeviceBuffer out, int blocks, int threads, int iters) {
        gpu.launch(gpu.function(MODULE, "mma_bf16"), blocks, 1, 1, threads, 0, out.param(), Pointer.to(new int[] {iters}));
    }

    /** wgmma_bf16's shared memory: A 64×64 + B 256×64 bf16, plus 1 KB to align the swizzled tiles. */
    public static final int WGMMA_SHARED = (64 + 256) * 64 * 2 + 1024;

    /** Whether {@link #wgmma} runs here (compute capability 9.0). */
    public boolean hasWgmma() {
        return gpu.device().hasWgmma();
    }

    /** FLOPs of one {@link #wgmma} launch: CTAs × iters × 4 × 2·64·256·16. */
    public static double wgmmaFlops(int blocks, int iters) {
        return (double) blocks * iters * 4 * 2.0 * 64 * 256 * 16;
    }

    /** One warpgroup per CTA (128 threads) issuing wgmma m64n256k16; {@code out} holds blocks × 128 floats. */
    public void wgmma(DeviceBuffer out, int blocks, int iters) {
        if (!hasWgmma()) {
            throw new UnsupportedOperationException("the wgmma ceiling needs an sm_90 GPU");
        }
        jcuda.driver.CUfunction f = gpu.function(MODULE, "wgmma_bf16");
        if (!wgmmaOptedIn) {
            gpu.allowDynamicShared(f, WGMMA_SHARED);
            wgmmaOptedIn = true;
        }
        gpu.launch(f, blocks, 1, 1, 128, WGMMA_SHARED, out.param(), Pointer.to(new int[] {iters}));
    }
}
