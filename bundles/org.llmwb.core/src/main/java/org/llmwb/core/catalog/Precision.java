package org.llmwb.core.catalog;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import org.llmwb.core.InputException;

/**
 * Number formats for weights, activations and the KV cache: bit layout, range, and the storage
 * overhead of block/group scales. {@link #bitsPerValue()} is the effective storage cost including
 * scales, e.g. INT4 with a 16-bit scale per 128 values costs 4 + 16/128 = 4.125 bits.
 *
 * <p>Figures: IEEE 754 (FP32, FP16), bfloat16, the OCP 8-bit floating point spec (E4M3 without
 * infinities, max 448; E5M2 max 57344), and NVIDIA's NVFP4 (E2M1 values, max 6, one E4M3 scale per
 * 16 values plus one FP32 scale per tensor).
 */
public enum Precision {
    //        id          bits exp man  maxValue  block scaleBits  zeroBits  computeKey   note
    FP32("fp32", 32, 8, 23, 3.4028235e38, 0, 0, 0, "fp32", "IEEE 754 single"),
    FP16("fp16", 16, 5, 10, 65504, 0, 0, 0, "fp16", "IEEE 754 half"),
    BF16("bf16", 16, 8, 7, 3.3895314e38, 0, 0, 0, "bf16", "bfloat16: FP32's range, 8 significant bits"),
    FP8_E4M3("fp8-e4m3", 8, 4, 3, 448, 0, 0, 0, "fp8", "OCP FP8 E4M3 (no infinities); per-tensor scale"),
    FP8_E5M2("fp8-e5m2", 8, 5, 2, 57344, 0, 0, 0, "fp8", "OCP FP8 E5M2; per-tensor scale"),
    INT8("int8", 8, 0, 0, 127, 0, 0, 0, "int8", "symmetric per-channel INT8 (one FP16 scale per output channel)"),
    INT4("int4", 4, 0, 0, 7, 128, 16, 0, "bf16", "group-wise INT4, group 128, FP16 scale per group; weight-only (W4A16)"),
    INT4_ASYM("int4-asym", 4, 0, 0, 15, 128, 16, 4, "bf16", "group-wise asymmetric INT4, group 128, FP16 scale + 4-bit zero point per group (W4A16)"),
    NVFP4("nvfp4", 4, 2, 1, 6, 16, 8, 0, "fp4", "NVFP4: E2M1 values, E4M3 scale per 16 values, FP32 per-tensor scale; native on Blackwell, emulated elsewhere");

    private final String id;
    private final int valueBits;
    private final int exponentBits;
    private final int mantissaBits;
    private final double maxValue;
    private final int blockSize;
    private final int scaleBits;
    private final int zeroPointBits;
    private final String computeKey;
    private final String description;

    Precision(String id, int valueBits, int exponentBits, int mantissaBits, double maxValue, int blockSize, int scaleBits,
            int zeroPointBits, String computeKey, String description) {
        this.id = id;
        this.valueBits = valueBits;
        this.exponentBits = exponentBits;
        this.mantissaBits = mantissaBits;
        this.maxValue = maxValue;
        this.blockSize = blockSize;
        this.scaleBits = scaleBits;
        this.zeroPointBits = zeroPointBits;
        this.computeKey = computeKey;
        this.description = description;
    }

    public String id() {
        return id;
    }

    /** Bits of one stored value, without scales. */
    public int valueBits() {
        return valueBits;
    }

    public int exponentBits() {
        return exponentBits;
    }

    public int mantissaBits() {
        return mantissaBits;
    }

    public double maxValue() {
        return maxValue;
    }

    public boolean isFloat() {
        return exponentBits > 0;
    }

    /** Values sharing one scale (0 = no block scales: per-tensor or per-channel). */
    public int blockSize() {
        return blockSize;
    }

    public int scaleBits() {
        return scaleBits;
    }

    public int zeroPointBits() {
        return zeroPointBits;
    }

    /** Effective storage bits per value including block scales and zero points. */
    public double bitsPerValue() {
        return blockSize == 0 ? valueBits : valueBits + (double) (scaleBits + zeroPointBits) / blockSize;
    }

    /** Effective bytes per value including block scales. */
    public double bytesPerValue() {
        return bitsPerValue() / 8.0;
    }

    /** True for formats narrower than 16 bits: only linear-layer weights are stored in them. */
    public boolean isQuantized() {
        return valueBits < 16;
    }

    /**
     * The KV-cache precision used when none is given: the weights' own for 16/32-bit weights; BF16 for
     * weight-quantized models (weight quantization does not change how the cache is stored).
     */
    public Precision defaultKv() {
        return isQuantized() ? BF16 : this;
    }

    /** The given KV precision, or {@link #defaultKv()} of these weights when {@code kv} is null. */
    public static Precision kvOrDefault(String kv, Precision weights) {
        return kv != null ? parse(kv) : weights.defaultKv();
    }

    /** Which peak of a GPU the math runs at: weight-only formats compute in BF16 after dequantizing. */
    public String computeKey() {
        return computeKey;
    }

    public String description() {
        return description;
    }

    /** Smallest positive normal value for float formats (2^(1-bias)); 1 for integers. */
    public double minNormal() {
        if (!isFloat()) {
            return 1;
        }
        int bias = (1 << (exponentBits - 1)) - 1;
        return Math.pow(2, 1 - bias);
    }

    /** Parses ids and common aliases (bfloat16, half, fp8, e4m3, w4a16 ...). */
    public static Precision parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        switch (k) {
            case "float32", "float", "f32" -> { return FP32; }
            case "float16", "half", "f16" -> { return FP16; }
            case "bfloat16" -> { return BF16; }
            case "fp8", "e4m3", "fp8e4m3", "float8-e4m3fn", "fp8-e4m3fn" -> { return FP8_E4M3; }
            case "e5m2", "fp8e5m2" -> { return FP8_E5M2; }
            case "w8a16" -> { return INT8; }
            case "w4a16", "int4-sym" -> { return INT4; }
            case "fp4" -> { return NVFP4; }
            default -> { }
        }
        for (Precision p : values()) {
            if (p.id.equals(k)) {
                return p;
            }
        }
        throw new InputException("unknown precision '" + s + "'; known: "
                + Arrays.stream(values()).map(Precision::id).collect(Collectors.joining(", ")));
    }
}
