package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.core.numeric.Fp8;

/** Launchers of kernels/quant/fp8.cu: bf16 ↔ FP8 (E4M3, E5M2) with a per-tensor scale (value = code × scale). */
public final class Fp8Convert {
    public static final String MODULE = "quant/fp8";
    private final Gpu gpu;

    public Fp8Convert(Gpu gpu) {
        this.gpu = gpu;
    }

    private static String name(Fp8.Format f) {
        return f == Fp8.Format.E4M3 ? "e4m3" : "e5m2";
    }

    /** Scale that maps the largest magnitude to the format's maximum (per-tensor absmax scaling). */
    public static float scaleFor(float absMax, Fp8.Format f) {
        return absMax == 0 ? 1f : absMax / f.max();
    }

    /** Per-tensor absmax scale of some values. */
    public static float scaleFor(float[] values, Fp8.Format f) {
        float m = 0;
        for (float v : values) {
            m = Math.max(m, Math.abs(v));
        }
        return scaleFor(m, f);
    }

    public void fromBf16(Fp8.Format f, DeviceBuffer bf16, DeviceBuffer out, long n, float scale) {
        if (bf16.bytes() < 2 * n || out.bytes() < n || scale <= 0 || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("fp8 conversion of " + n + " values: buffers too small or scale " + scale + " not positive");
        }
        int grid = (int) Math.max(1, Math.min((n / 8 + 255) / 256, gpu.device().multiprocessors() * 16L));
        gpu.launch(gpu.function(MODULE, "fp8_" + name(f) + "_from_bf16"), grid, 1, 1, 256, 0, bf16.param(), out.param(),
                Pointer.to(new long[] {n}), Pointer.to(new float[] {1f / scale}));
    }

    public void toBf16(Fp8.Format f, DeviceBuffer fp8, DeviceBuffer out, long n, float scale) {
        if (fp8.bytes() < n || out.bytes() < 2 * n) {
            throw new IllegalArgumentException("fp8 → bf16 of " + n + " values: buffers too small");
        }
        int grid = (int) Math.max(1, Math.min((n + 255) / 256, gpu.device().multiprocessors() * 16L));
        gpu.launch(gpu.function(MODULE, "bf16_from_fp8_" + name(f)), grid, 1, 1, 256, 0, fp8.param(), out.param(), Pointer.to(new long[] {n}),
                Pointer.to(new float[] {scale}));
    }
}
