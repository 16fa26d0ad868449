package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/** Launchers of kernels/roofline/ceilings.cu: copy bandwidth, FP32 FMA peak, BF16 mma.sync peak. */
public final class Ceilings {
    public static final String MODULE = "roofline/ceilings";
    private final Gpu gpu;

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
}
