package org.llmwb.engine.spec;

/** Test access to the n-gram lookup. */
public final class NgramAccess {
    private NgramAccess() {
    }

    public static int[] lookup(int[] t, int k, int minN, int maxN) {
        return NgramDrafter.lookup(t, k, minN, maxN);
    }
}
