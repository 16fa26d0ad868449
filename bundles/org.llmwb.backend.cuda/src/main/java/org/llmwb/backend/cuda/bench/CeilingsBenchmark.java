package org.llmwb.backend.cuda.bench;

import org.llmwb.core.experiment.KernelRecords;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.ops.Ceilings;

/**
 * Measures a GPU's own roofs: copy bandwidth (best of the two copy kernels, read + write counted),
 * FP32 FMA peak, BF16 mma.sync peak and, on sm_90, BF16 wgmma peak, each the median of timed runs after warm-up.
 */
public final class CeilingsBenchmark {
    /** Bytes/s and FLOP/s measured on {@code device}. */
    /** {@code bf16Wgmma} is NaN on GPUs without wgmma. */
    public record Result(String device, double copyBandwidth, double fp32Fma, double bf16MmaSync, double bf16Wgmma) {
        /** The highest BF16 tensor rate measured: wgmma where there is one, mma.sync otherwise. */
        public double bf16TensorPeak() {
            return Double.isNaN(bf16Wgmma) ? bf16MmaSync : Math.max(bf16MmaSync, bf16Wgmma);
        }
    }

    private CeilingsBenchmark() {
    }

    /** @param copyBytes bytes per copy buffer (several times the L2 size; 1 GiB by default in the benchmark) */
    public static Result measure(Gpu gpu, long copyBytes, int runs) {
        Ceilings c = new Ceilings(gpu);
        double copy = 0;
        try (DeviceBuffer a = gpu.alloc("copy source", copyBytes); DeviceBuffer b = gpu.alloc("copy destination", copyBytes)) {
            gpu.memset(a, (byte) 0x5a);
            for (int v = 1; v <= 2; v++) {
                int version = v;
                float[] ms = gpu.time(3, runs, i -> c.copy(version, a, b, copyBytes));
                copy = Math.max(copy, 2.0 * copyBytes / (KernelRecords.median(ms) / 1e3));
            }
        }
        int blocks = gpu.device().multiprocessors() * 8;
        double fma;
        double mma;
        double wgmma = Double.NaN;
        try (DeviceBuffer out = gpu.alloc("peak outputs", 4L * blocks * 256)) {
            int iters = 8192;
            fma = Ceilings.fmaFlops(blocks, 256, iters) / (KernelRecords.median(gpu.time(2, runs, i -> c.fma(out, blocks, 256, iters))) / 1e3);
            int mIters = 2048;
            mma = Ceilings.mmaFlops(blocks, 256, mIters) / (KernelRecords.median(gpu.time(2, runs, i -> c.mma(out, blocks, 256, mIters))) / 1e3);
            if (c.hasWgmma()) {
                int wBlocks = gpu.device().multiprocessors() * 2;
                int wIters = 4096;
                wgmma = Ceilings.wgmmaFlops(wBlocks, wIters) / (KernelRecords.median(gpu.time(2, runs, i -> c.wgmma(out, wBlocks, wIters))) / 1e3);
            }
        }
        return new Result(gpu.device().name(), copy, fma, mma, wgmma);
    }
}
