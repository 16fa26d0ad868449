package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;
import jcuda.driver.CUfunction;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launcher of kernels/gemm/gemm.cu: C[M, N] = A[M, K] · Wᵀ in bf16 on tensor cores, the prefill linear layer:
 * v1/v2 with mma.sync (any GPU from sm_80), v3 with Hopper wgmma (compute capability 9.0 only; {@link #best}
 * picks it there). FLOPs = 2·M·N·K; bytes (compulsory) = 2·(M·K + N·K + M·N).
 */
public final class Gemm {
    public static final String MODULE = "gemm/gemm";
    private final Gpu gpu;
    /** gemm_bf16_v2's ring: 4 stages × (128 + 128 rows) × 40 bf16. */
    public static final int V2_SHARED = 4 * 256 * 40 * 2;
    /** gemm_bf16_wgmma's ring: 4 stages × (128 + 256 rows) × 128 bytes, plus 1 KB to align the swizzled tiles. */
    public static final int WGMMA_SHARED = 4 * (128 + 256) * 128 + 1024;
    private boolean optedIn;
    private boolean wgmmaOptedIn;

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

    /** Whether this GPU runs the wgmma kernel (Hopper, sm_90). */
    public boolean hasWgmma() {
        return gpu.device().hasWgmma();
    }

    /**
     * v3: Hopper wgmma, 128×256 tiles, operands in 128-byte-swizzled shared memory filled by a 4-stage cp.async
     * ring. Only on compute capability 9.0.
     *
     * @throws UnsupportedOperationException on any other GPU
     */
    public void bf16Wgmma(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        if (!hasWgmma()) {
            throw new UnsupportedOperationException("the wgmma GEMM needs an sm_90 GPU (this one is sm_" + gpu.device().computeMajor()
                    + gpu.device().computeMinor() + "); use bf16v2");
        }
        validate(m, n, k);
        checkSizes(a, w, c, m, n, k);
        CUfunction f = gpu.function(MODULE, "gemm_bf16_wgmma");
        if (!wgmmaOptedIn) {
            gpu.allowDynamicShared(f, WGMMA_SHARED);
            wgmmaOptedIn = true;
        }
        int tiles = ((m + 127) / 128) * ((n + 255) / 256);
        gpu.launch(f, tiles, 1, 1, 256, WGMMA_SHARED, a.param(), w.param(), c.param(), Pointer.to(new int[] {m}), Pointer.to(new int[] {n}),
                Pointer.to(new int[] {k}));
    }

    /** The fastest kernel this GPU has: wgmma on sm_90, v2 elsewhere. */
    public void best(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        if (hasWgmma()) {
            bf16Wgmma(a, w, c, m, n, k);
        } else {
            bf16v2(a, w, c, m, n, k);
        }
    }

    private static void checkSizes(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        if (a.bytes() < 2L * m * k || w.bytes() < 2L * n * k || c.bytes() < 2L * m * n) {
            throw new IllegalArgumentException("buffers too small for M " + m + ", N " + n + ", K " + k);
        }
    }

    private void run(String kernel, int shared, DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k) {
        validate(m, n, k);
        checkSizes(a, w, c, m, n, k);
        gpu.launch(gpu.function(MODULE, kernel), (n + 127) / 128, (m + 127) / 128, 1, 256, shared, a.param(), w.param(), c.param(),
                Pointer.to(new int[] {m}), Pointer.to(new int[] {n}), Pointer.to(new int[] {k}));
    }
}
