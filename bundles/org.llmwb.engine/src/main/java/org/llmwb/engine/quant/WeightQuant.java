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
            case INT4_AWQ -> throw new IllegalArgumentException("AWQ needs calibration activations: use awq(w, n, k, x)");
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
            case INT4, INT4_AWQ -> n * k / 2 + 4 * n * (k / int4Group((int) k));
            case FP8 -> n * k + 4;
            case NVFP4 -> n * k / 2 + n * k / 16 + 4;
        };
    }

    /** E4M3 round trip with unit scale (the FP8 KV cache's rule, as vLLM's default k/v scale of 1.0). */
    public static float fp8Kv(float x) {
        return Fp8.decode(Fp8.Format.E4M3, Fp8.encode(Fp8.Format.E4M3, x));
    }

    /** What {@link #awq} chose for a layer group. */
    public record Awq(float[] weights, double alpha, double error, double rtnError) {
    }

    /**
     * AWQ-style INT4 (Lin et al. 2024) of W [n, k] given calibration inputs x [rows][k]: for α in 0, 0.1, ..., 1,
     * scale input channel c by s_c = mean|x_c|^α (normalised by sqrt(max·min)), quantize W·diag(s) as INT4 (the same
     * groups and rounding as {@link #fakeQuant}), fold 1/s back, and keep the α whose outputs x·Wᵀ on the calibration
     * rows are closest (squared error) to the unquantized ones. α = 0 is plain round-to-nearest, so the choice is never
     * worse than it on the calibration data. Returns the effective weights (what the folded model computes with).
     */
    public static Awq awq(float[] w, int n, int k, float[][] x) {
        int group = int4Group(k);
        double[] mean = new double[k];
        for (float[] row : x) {
            for (int c = 0; c < k; c++) {
                mean[c] += Math.abs(row[c]);
            }
        }
        for (int c = 0; c < k; c++) {
            mean[c] = Math.max(mean[c] / Math.max(1, x.length), 1e-8);
        }
        float[] best = null;
        double bestErr = Double.MAX_VALUE;
        double bestAlpha = 0;
        double rtn = Double.NaN;
        for (int a = 0; a <= 10; a++) {
            double alpha = a / 10.0;
            double[] sc = new double[k];
            double max = 0;
            double min = Double.MAX_VALUE;
            for (int c = 0; c < k; c++) {
                sc[c] = Math.pow(mean[c], alpha);
                max = Math.max(max, sc[c]);
                min = Math.min(min, sc[c]);
            }
            double norm = Math.sqrt(max * min);
            float[] scaled = new float[w.length];
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) {
                    scaled[r * k + c] = (float) (w[r * k + c] * (sc[c] / norm));
                }
            }
            float[] q = int4(scaled, n, k, group);
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) {
                    q[r * k + c] = (float) (q[r * k + c] / (sc[c] / norm));
                }
            }
            double err = outputError(w, q, n, k, x);
            if (a == 0) {
                rtn = err;
            }
            if (err < bestErr) {
                bestErr = err;
                best = q;
                bestAlpha = alpha;
            }
        }
        return new Awq(best, bestAlpha, bestErr, rtn);
    }

    /** Σ over calibration rows and outputs of (x·(q − w)ᵀ)². */
    static double outputError(float[] w, float[] q, int n, int k, float[][] x) {
        double e = 0;
        for (float[] row : x) {
            for (int r = 0; r < n; r++) {
                double d = 0;
                for (int c = 0; c < k; c++) {
                    d += row[c] * (q[r * k + c] - w[r * k + c]);
                }
                e += d * d;
            }
        }
        return e;
    }
}
