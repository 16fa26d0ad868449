package org.llmwb.engine.sched;

import java.util.SplittableRandom;

/** Test access to package-private helpers of speculative decoding. */
public final class SpecVerifierAccess {
    private SpecVerifierAccess() {
    }

    public static int draw(double[] p, SplittableRandom rng) {
        return Sampler.draw(p, rng);
    }

    public static int[] verify(float[][] rows, Scheduler.Draft d, SamplingParams p, SplittableRandom rng) {
        return SpecVerifier.verify(rows, 0, d, p, rng);
    }

    public static int[] lookup(int[] t, int k, int minN, int maxN) {
        return org.llmwb.engine.spec.NgramAccess.lookup(t, k, minN, maxN);
    }
}
