package org.llmwb.engine.sched;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: argmax when greedy, else temperature scaling, top-k, then top-p
 * (nucleus) filtering and one draw from the sequence's own seeded stream. Ties in argmax go to the lowest id,
 * as torch.argmax does, so CPU and GPU runs agree.
 */
public final class Sampler {
    private Sampler() {
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    public static int sample(float[] logits, SamplingParams p, SplittableRandom rng) {
        if (p.isGreedy()) {
            return argmax(logits);
        }
        return draw(probabilities(logits, p), rng);
    }

    /** One draw from a normalised distribution by its inverse CDF (one uniform from {@code rng}). */
    public static int draw(double[] probs, SplittableRandom rng) {
        double u = rng.nextDouble();
        double acc = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                acc += probs[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last; // rounding left u just above the total
    }

    /** The distribution {@link #sample} draws from (after temperature, top-k and top-p), normalised. */
    public static double[] probabilities(float[] logits, SamplingParams p) {
        int n = logits.length;
        double[] z = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            z[i] = logits[i] / p.temperature();
            max = Math.max(max, z[i]);
        }
        Integer[] order = null;
        int keep = n;
        if (p.topK() > 0 && p.topK() < n) {
            order = byDescending(z);
            keep = p.topK();
        }
        double[] probs = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp(z[i] - max);
        }
        if (order != null) {
            for (int r = keep; r < n; r++) {
                probs[order[r]] = 0;
            }
        }
        for (double v : probs) {
            sum += v;
        }
        for (int i = 0; i < n; i++) {
            probs[i] /= sum;
        }
        if (p.topP() < 1) {
            if (order == null) {
                order = byDescending(z);
            }
            double acc = 0;
            int r = 0;
            while (r < n && acc < p.topP()) {
                acc += probs[order[r]];
                r++;
            }
            for (int q = r; q < n; q++) {
                probs[order[q]] = 0;
            }
            double s2 = 0;
            for (double v : probs) {
                s2 += v;
            }
            for (int i = 0; i < n; i++) {
                probs[i] /= s2;
            }
        }
        return probs;
    }

    private static Integer[] byDescending(double[] z) {
        Integer[] idx = new Integer[z.length];
        Arrays.setAll(idx, i -> i);
        Arrays.sort(idx, (a, b) -> z[a] != z[b] ? Double.compare(z[b], z[a]) : Integer.compare(a, b));
        return idx;
    }
}
