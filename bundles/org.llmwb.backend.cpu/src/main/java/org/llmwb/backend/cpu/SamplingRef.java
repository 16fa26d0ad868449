package org.llmwb.backend.cpu;

/**
 * Reference of kernels/layers/sampling.cu: temperature, top-k and top-p thresholds found the same way
 * (bisection over the order-preserving integer image of the floats; counts are exact), the draw by
 * inverse CDF in index order, sums in double.
 */
public final class SamplingRef {
    /** The kept set's threshold key, its probabilities' normaliser and the drawn token. */
    public record Result(int token, long keepKey, double[] probs, double boundaryDistance) {
    }

    private SamplingRef() {
    }

    /** Order-preserving map of a float to an unsigned 32-bit key (as a long). */
    public static long key(float f) {
        int b = Float.floatToRawIntBits(f);
        int k = b < 0 ? ~b : (b | 0x80000000);
        return Integer.toUnsignedLong(k);
    }

    public static Result sample(float[] logits, int offset, int vocab, float temperature, int topK, float topP, float u) {
        float inv = 1f / temperature;
        float[] x = new float[vocab];
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            x[i] = logits[offset + i] * inv;
            m = Math.max(m, x[i]);
        }
        long kKey = 0;
        if (topK > 0 && topK < vocab) {
            long lo = 0;
            long hi = 0xffffffffL;
            while (lo < hi) {
                long mid = lo + (hi - lo) / 2 + 1;
                int c = 0;
                for (float v : x) {
                    if (key(v) >= mid) {
                        c++;
                    }
                }
                if (c >= topK) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            kKey = lo;
        }
        long pKey = kKey;
        if (topP < 1f) {
            double z = mass(x, m, kKey);
            long lo = kKey;
            long hi = 0xffffffffL;
            while (lo < hi) {
                long mid = lo + (hi - lo) / 2 + 1;
                if (mass(x, m, mid) >= topP * z) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            pKey = lo;
        }
        double z = mass(x, m, pKey);
        double[] p = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            p[i] = key(x[i]) >= pKey ? Math.exp(x[i] - m) / z : 0;
        }
        return draw(p, pKey, u);
    }

    /** The inverse-CDF draw of {@link #sample} for given kept-set probabilities (index order). */
    public static Result draw(double[] p, long keepKey, float u) {
        int vocab = p.length;
        double target = u;
        double acc = 0;
        int pick = -1;
        double boundary = Double.MAX_VALUE;
        for (int i = 0; i < vocab; i++) {
            if (p[i] > 0) {
                acc += p[i];
                boundary = Math.min(boundary, Math.abs(acc - target));
                if (pick < 0 && acc > target) {
                    pick = i;
                }
            }
        }
        if (pick < 0) {
            for (int i = vocab - 1; i >= 0 && pick < 0; i--) {
                if (p[i] > 0) {
                    pick = i;
                }
            }
        }
        return new Result(pick, keepKey, p, boundary);
    }

    private static double mass(float[] x, float m, long minKey) {
        double s = 0;
        for (float v : x) {
            if (key(v) >= minKey) {
                s += Math.exp(v - m);
            }
        }
        return s;
    }
}
