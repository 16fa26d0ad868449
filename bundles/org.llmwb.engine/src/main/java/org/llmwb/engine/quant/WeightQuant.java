package org.llmwb.engine.quant;

import org.llmwb.backend.cpu.Quantize;
import org.llmwb.core.numeric.Fp8;

/**
 * Quantize-then-dequantize of a weight matrix [n, k] (row-major, rows are output channels): the values the
 * quantized model computes with, for the CPU backend (which then multiplies them in FP32) and as the reference
 * of the GPU kernels. Same rules as the GPU path: {@link Quantize} for INT8 and INT4 (groups of 128 along K;
 * a smaller group that divides K when 128 does not, CPU only), a per-tensor scale for FP8 E4M3, and NVFP4's
 * two-level scales.
 */
public final class WeightQuant {
    private WeightQuant() {
    }

    /** The group INT4 uses along K: 128, or the largest power of two ≥ 16 dividing K (CPU only; the GPU kernel needs 128). */
    public static int int4Group(int k) {
        for (int g = Quantize.INT4_GROUP; g >= 16; g /= 2) {
            if (k % g == 0) {
                return g;
            }
        }
        throw new IllegalArgumentException("INT4 groups need K divisible by 16, K = " + k);
    }

    public static float[] fakeQuant(Quantization.Weights f, float[] w, int n, int k) {
        return switch (f) {
            case NONE -> w;
            case INT8 -> {
                Quantize.Int8 q = Quantize.int8PerChannel(w, n, k);
                float[] out = new float[w.length];
                for (int r = 0; r < n; r++) {
                    for (int c = 0; c < k; c++) {
                        out[r * k + c] = q.dequant(r, c);
                    }
                }
                yield out;
            }
            case INT4 -> int4(w, n, k, int4Group(k));
            case FP8 -> {
                float s = fp8Scale(w);
                float[] out = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    out[i] = Fp8.decode(Fp8.Format.E4M3, Fp8.encode(Fp8.Format.E4M3, w[i] / s)) * s;
                }
                yield out;
            }
            case NVFP4 -> {
                Quantize.Nvfp4 q = Quantize.nvfp4(w, Quantize.nvfp4GlobalScale(w));
                float[] out = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    out[i] = q.dequant(i);
                }
                yield out;
            }
        };
    }

    /** Per-tensor FP8 E4M3 scale: the largest magnitude maps to 448. */
    public static float fp8Scale(float[] w) {
        float a = 0;
        for (float v : w) {
            a = Math.max(a, Math.abs(v));
        }
        return a == 0 ? 1f : a / 448f;
    }

    /** Symmetric INT4 as {@link Quantize#int4Grouped} does it (s = max|w| / 7, q = clamp(round(w / s), −8, 7)), any group size. */
    static float[] int4(float[] w, int n, int k, int group) {
        float[] out = new float[w.length];
        for (int r = 0; r < n; r++) {
            for (int g0 = 0; g0 < k; g0 += group) {
                float max = 0;
                for (int c = g0; c < g0 + group; c++) {
                    max = Math.max(max, Math.abs(w[r * k + c]));
                }
                float s = max == 0 ? 1 : max / 7f;
                for (int c = g0; c < g0 + group; c++) {
                    int q = Math.max(-8, Math.min(7, Math.round(w[r * k + c] / s)));
                    out[r * k + c] = q * s;
                }
            }
        }
        return out;
    }

    /** Bytes the format stores for an [n, k] matrix, scales included. */
    public static long bytes(Quantization.Weights f, long n, long k, int bf16Bytes) {
        return switch (f) {
            case NONE -> n * k * bf16Bytes;
            case INT8 -> n * k + 4 * n;
            case INT4 -> n * k / 2 + 4 * n * (k / int4Group((int) k));
            case FP8 -> n * k + 4;
            case NVFP4 -> n * k / 2 + n * k / 16 + 4;
        };
    }

    /** E4M3 round trip with unit scale (the FP8 KV cache's rule, as vLLM's default k/v scale of 1.0). */
    public static float fp8Kv(float x) {
        return Fp8.decode(Fp8.Format.E4M3, Fp8.encode(Fp8.Format.E4M3, x));
    }
}
