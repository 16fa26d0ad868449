package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launcher of kernels/gemm/gemm.cu: C[M, N] = A[M, K] · Wᵀ in bf16 on tensor cores (mma.sync), the prefill
 * linear layer. FLOPs = 2·M·N·K; bytes (compulsory) = 2·(M·K + N·K + M·N).
 */
public final class Gemm {
    public static final String MODULE = "gemm/gemm";
    private final Gpu gpu;
    /** gemm_bf16_v2's ring: 4 stages × (128 + 128 rows) × 40 bf16. */
    public static final int V2_SHARED = 4 * 256 * 40 * 2;
    private boolean optedIn;

    public Gemm(Gpu gpu) {
        this.gpu = gpu;
    }

    public static void validate(int m, int n, int k) {
        if (m < 1 || n < 8 || k < 8 || n % 8 != 0 || k % 8 != 0) {
            throw new IllegalArgumentException("GEMM needs M >= 1 and N, K positive multiples of 8 (got M " + m + ", N " + n + ", K " + k + ")");
        }
    }

    public static double flops(long m, long n, long k) {
        return 2.0 * m * n * k;
    }

    public static double bytes(long m, long n, long k) {
        return 2.0 * (m * k + n * k + m * n);
    }

    /** v1: two cp.async stages in static shared memory. */
    public void bf16(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        run("gemm_bf16_v1", 0, a, w, c, m, n, k);
    }

    /** v2: a four-stage cp.async ring in dynamic shared memory. */
    public void bf16v2(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        if (!optedIn) {
            gpu.allowDynamicShared(gpu.function(MODULE, "gemm_bf16_v2"), V2_SHARED);
            optedIn = true;
        }
        run("gemm_bf16_v2", V2_SHARED, a, w, c, m, n, k);
    }

    private void run(String kernel, int shared, DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        validate(m, n, k);
        if (a.bytes() < 2L * m * k || w.bytes() < 2L * n * k || c.bytes() < 2L * m * n) {
            throw new IllegalArgumentException("buffers too small for M " + m + ", N " + n + ", K " + k);
        }
        gpu.launch(gpu.function(MODULE, kernel), (n + 127) / 128, (m + 127) / 128, 1, 256, shared, a.param(), w.param(), c.param(),
                Pointer.to(new int[] {m}), Pointer.to(new int[] {n}), Pointer.to(new int[] {k}));
    }
}
