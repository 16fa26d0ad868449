package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/** Launcher of kernels/layers/sampling.cu: one token per row from FP32 logits with temperature, top-k and top-p. */
public final class Sampling {
    public static final String MODULE = "layers/sampling";
    private final Gpu gpu;

    public Sampling(Gpu gpu) {
        this.gpu = gpu;
    }

    /**
     * @param uniforms one float in [0, 1) per row (from a seeded RNG on the host, so runs replay exactly)
     * @param topK 0 for no top-k
     * @param topP 1 for no top-p
     */
    public void sample(DeviceBuffer logits, DeviceBuffer uniforms, DeviceBuffer out, int rows, int vocab, float temperature, int topK, float topP) {
        if (!(temperature > 0) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be > 0 (use argmax for greedy decoding), got " + temperature);
        }
        if (topK < 0 || topK > vocab) {
            throw new IllegalArgumentException("top-k " + topK + " is outside 0.." + vocab);
        }
        if (!(topP > 0) || topP > 1) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (logits.bytes() < 4L * rows * vocab || uniforms.bytes() < 4L * rows || out.bytes() < 4L * rows) {
            throw new IllegalArgumentException("sampling buffers do not match " + rows + " × " + vocab);
        }
        gpu.launch(gpu.function(MODULE, "sample_f32"), rows, 1, 1, 256, 0, logits.param(), uniforms.param(), out.param(),
                Pointer.to(new int[] {vocab}), Pointer.to(new float[] {temperature}), Pointer.to(new int[] {topK}), Pointer.to(new float[] {topP}));
    }
}
