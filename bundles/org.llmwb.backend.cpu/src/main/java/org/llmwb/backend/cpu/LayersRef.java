package org.llmwb.backend.cpu;

/** References of the forward pass's building blocks (double math; inputs are the bf16-rounded values the GPU sees). */
public final class LayersRef {
    private LayersRef() {
    }

    /** y = x / sqrt(mean(x²) + eps) · w per row of {@code dim}. */
    public static float[] rmsnorm(float[] x, float[] w, int dim, double eps) {
        float[] y = new float[x.length];
        for (int r = 0; r < x.length / dim; r++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[r * dim + i] * x[r * dim + i];
            }
            double inv = 1 / Math.sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++) {
                y[r * dim + i] = (float) (x[r * dim + i] * inv * w[i]);
            }
        }
        return y;
    }

    /**
     * Rotary frequencies 1 / theta^(2i/d), with Llama-3's scaling when {@code factor > 0}: long wavelengths
     * (beyond originalMax / lowFreqFactor) are divided by factor, short ones (below originalMax /
     * highFreqFactor) kept, and the band between interpolated.
     */
    public static float[] ropeInvFreq(int headDim, double theta, double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
        float[] f = new float[headDim / 2];
        for (int i = 0; i < headDim / 2; i++) {
            double freq = 1.0 / Math.pow(theta, 2.0 * i / headDim);
            if (factor > 0) {
                double wavelen = 2 * Math.PI / freq;
                double lowWave = originalMax / lowFreqFactor;
                double highWave = originalMax / highFreqFactor;
                if (wavelen > lowWave) {
                    freq = freq / factor;
                } else if (wavelen >= highWave) {
                    double smooth = (originalMax / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    freq = (1 - smooth) * freq / factor + smooth * freq;
                }
            }
            f[i] = (float) freq;
        }
        return f;
    }

    /** RoPE on x [tokens, heads, headDim] with the rotate-half pairing (i, i + headDim/2). */
    public static float[] rope(float[] x, int[] positions, float[] invFreq, int heads, int headDim) {
        float[] y = x.clone();
        int half = headDim / 2;
        for (int t = 0; t < positions.length; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    double a = (double) positions[t] * invFreq[i];
                    double c = Math.cos(a);
                    double s = Math.sin(a);
                    double x1 = x[base + i];
                    double x2 = x[base + i + half];
                    y[base + i] = (float) (x1 * c - x2 * s);
                    y[base + i + half] = (float) (x2 * c + x1 * s);
                }
            }
        }
        return y;
    }

    /** out[t, i] = silu(gateUp[t, i]) · gateUp[t, I + i]. */
    public static float[] siluMul(float[] gateUp, int tokens, int inter) {
        float[] out = new float[tokens * inter];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < inter; i++) {
                double g = gateUp[t * 2 * inter + i];
                double u = gateUp[t * 2 * inter + inter + i];
                out[t * inter + i] = (float) (g / (1 + Math.exp(-g)) * u);
            }
        }
        return out;
    }

    /** Index of the largest value per row; lowest index on ties; NaN never wins. */
    public static int[] argmax(float[] logits, int vocab) {
        int[] out = new int[logits.length / vocab];
        for (int r = 0; r < out.length; r++) {
            float best = Float.NEGATIVE_INFINITY;
            int idx = -1;
            for (int i = 0; i < vocab; i++) {
                float v = logits[r * vocab + i];
                if (v > best) {
                    best = v;
                    idx = i;
                }
            }
            out[r] = Math.max(0, idx);
        }
        return out;
    }
}
