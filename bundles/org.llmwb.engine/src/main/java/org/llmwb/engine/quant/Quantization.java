package org.llmwb.engine.quant;

import java.util.Locale;

/**
 * A load-time quantization of a model: how its linear layers' weights are stored (the embedding, norms and LM
 * head stay in the model's precision) and how its KV cache is stored. The model code does not change: the
 * runners swap the linear layers' storage and kernels, and the KV pool's element type.
 */
public record Quantization(Weights weights, Kv kv) {
    /** Weight formats. */
    public enum Weights {
        /** As loaded (BF16 on the GPU, FP32 on the CPU). */
        NONE("none", 16),
        /** W8A16: INT8 per output channel, symmetric. */
        INT8("int8", 8),
        /** W4A16: INT4 in groups of 128 along K, symmetric, round to nearest. */
        INT4("int4", 4),
        /**
         * W4A16 with AWQ-style activation-aware scaling: per input channel s = mean|x|^α from calibration text, α
         * searched per layer group to minimise the group's output error, W·diag(s) quantized and diag(1/s) folded back.
         */
        INT4_AWQ("int4-awq", 4),
        /** FP8 E4M3 with one scale per tensor. */
        FP8("fp8", 8),
        /** NVFP4 (E2M1 values, E4M3 scale per 16, FP32 per tensor): emulated on Hopper, which has no FP4 units. */
        NVFP4("nvfp4", 4);

        public final String id;
        public final int bits;

        Weights(String id, int bits) {
            this.id = id;
            this.bits = bits;
        }
    }

    /** KV cache formats. */
    public enum Kv {
        NONE("none"), FP8("fp8");

        public final String id;

        Kv(String id) {
            this.id = id;
        }
    }

    public static final Quantization NONE = new Quantization(Weights.NONE, Kv.NONE);

    public static Weights weights(String s) {
        for (Weights w : Weights.values()) {
            if (w.id.equals(s.trim().toLowerCase(Locale.ROOT))) {
                return w;
            }
        }
        throw new IllegalArgumentException("weight quantization '" + s + "' is not one of none, int8, int4, int4-awq, fp8, nvfp4");
    }

    public static Kv kv(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("auto") || t.equals("none") || t.equals("bf16")) {
            return Kv.NONE;
        }
        if (t.equals("fp8") || t.equals("fp8_e4m3")) {
            return Kv.FP8;
        }
        throw new IllegalArgumentException("KV quantization '" + s + "' is not one of none, fp8");
    }

    public boolean any() {
        return weights != Weights.NONE || kv != Kv.NONE;
    }

    public String label() {
        String w = weights == Weights.NONE ? "bf16 weights" : weights.id + " weights" + (weights == Weights.NVFP4 ? " (emulated)" : "");
        return w + (kv == Kv.FP8 ? ", fp8 KV" : "");
    }
}
