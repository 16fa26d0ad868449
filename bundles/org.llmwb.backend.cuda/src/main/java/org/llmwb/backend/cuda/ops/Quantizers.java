package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/** Launchers of kernels/quant/quantize.cu: INT8 per-channel, INT4 group-128 and emulated NVFP4 quantizers. */
public final class Quantizers {
    public static final String MODULE = "quant/quantize";
    private final Gpu gpu;

    public Quantizers(Gpu gpu) {
        this.gpu = gpu;
    }

    public void int8Rows(DeviceBuffer w, DeviceBuffer q, DeviceBuffer scales, int rows, int cols) {
        if (w.bytes() < 2L * rows * cols || q.bytes() < (long) rows * cols || scales.bytes() < 4L * rows) {
            throw new IllegalArgumentException("int8 quantization: buffers do not match " + rows + " × " + cols);
        }
        gpu.launch(gpu.function(MODULE, "quant_int8_rows"), rows, 1, 1, 32, 0, w.param(), q.param(), scales.param(), Pointer.to(new int[] {cols}));
    }

    /** @param zeros per-group zero points for asymmetric quantization, or null for symmetric */
    public void int4Groups(DeviceBuffer w, DeviceBuffer packed, DeviceBuffer scales, DeviceBuffer zeros, int rows, int cols) {
        if (cols % 128 != 0) {
            throw new IllegalArgumentException("int4 quantization needs K a multiple of 128, got " + cols);
        }
        int groups = cols / 128;
        gpu.launch(gpu.function(MODULE, "quant_int4_groups"), rows, groups, 1, 32, 0, w.param(), packed.param(), scales.param(),
                zeros == null ? Pointer.to(new long[] {0}) : zeros.param(), Pointer.to(new int[] {cols}), Pointer.to(new int[] {zeros == null ? 0 : 1}));
    }

    public void nvfp4(DeviceBuffer x, DeviceBuffer packed, DeviceBuffer blockScales, long n, float globalScale) {
        if (n % 16 != 0 || !(globalScale > 0)) {
            throw new IllegalArgumentException("NVFP4 needs a multiple of 16 values and a positive global scale");
        }
        int grid = (int) Math.max(1, Math.min((n / 16 + 127) / 128, gpu.device().multiprocessors() * 16L));
        gpu.launch(gpu.function(MODULE, "nvfp4_quant"), grid, 1, 1, 128, 0, x.param(), packed.param(), blockScales.param(),
                Pointer.to(new long[] {n}), Pointer.to(new float[] {globalScale}));
    }

    public void nvfp4Dequant(DeviceBuffer packed, DeviceBuffer blockScales, DeviceBuffer out, long n, float globalScale) {
        int grid = (int) Math.max(1, Math.min((n + 255) / 256, gpu.device().multiprocessors() * 16L));
        gpu.launch(gpu.function(MODULE, "nvfp4_dequant"), grid, 1, 1, 256, 0, packed.param(), blockScales.param(), out.param(),
                Pointer.to(new long[] {n}), Pointer.to(new float[] {globalScale}));
    }
}
