package org.llmwb.engine.sched;

import java.util.SplittableRandom;

/**
 * The acceptance rule of speculative decoding (Leviathan et al. 2023; Chen et al. 2023), for one sequence's
 * verify step. Row {@code first + j} of {@code rows} holds the target's logits at the j-th verified position,
 * i.e. its prediction for draft token j; row {@code first + m} (m drafts) predicts the token after them all.
 * <ul>
 * <li>Greedy: draft j is accepted while it equals the target's argmax; the first mismatch is replaced by the
 * argmax, and when all m are accepted the argmax of the last row is the bonus token. The output is exactly
 * what plain greedy decoding produces, token for token.</li>
 * <li>Sampled: draft x_j ~ q_j is accepted with probability min(1, p_j(x)/q_j(x)); on rejection the token is
 * drawn from max(0, p_j − q_j) normalised, and nothing after it is kept. Every emitted token is then
 * distributed exactly as p (the target's distribution after temperature, top-k and top-p). A draft chosen
 * outright (n-gram lookup) has q_j = one-hot: accept with probability p_j(x), else draw from p_j with x
 * removed.</li>
 * </ul>
 */
public final class SpecVerifier {
    private SpecVerifier() {
    }

    /** Returns the tokens to emit: the accepted drafts followed by one token of the target's (length = accepted + 1). */
    public static int[] verify(float[][] rows, int first, Scheduler.Draft d, SamplingParams p, SplittableRandom rng) {
        int m = d.length();
        int[] out = new int[m + 1];
        for (int j = 0; j < m; j++) {
            int x = d.tokens()[j];
            if (p.isGreedy()) {
                int t = Sampler.argmax(rows[first + j]);
                out[j] = t;
                if (t != x) {
                    return java.util.Arrays.copyOf(out, j + 1);
                }
                continue;
            }
            double[] pj = Sampler.probabilities(rows[first + j], p);
            double[] qj = d.q() == null ? null : d.q()[j];
            double qx = qj == null ? 1 : qj[x];
            double u = rng.nextDouble();
            if (qx > 0 && u < Math.min(1, pj[x] / qx)) {
                out[j] = x;
                continue;
            }
            out[j] = Sampler.draw(residual(pj, qj, x), rng);
            return java.util.Arrays.copyOf(out, j + 1);
        }
        out[m] = p.isGreedy() ? Sampler.argmax(rows[first + m]) : Sampler.draw(Sampler.probabilities(rows[first + m], p), rng);
        return out;
    }

    /** max(0, p − q) normalised; q null means one-hot at {@code x}. Falls back to p when the residual is empty (p ≤ q everywhere, i.e. p = q). */
    static double[] residual(double[] p, double[] q, int x) {
        double[] r = new double[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            double qi = q == null ? (i == x ? 1 : 0) : q[i];
            r[i] = Math.max(0, p[i] - qi);
            sum += r[i];
        }
        if (sum <= 0) {
            return p;
        }
        for (int i = 0; i < r.length; i++) {
            r[i] /= sum;
        }
        return r;
    }
}
