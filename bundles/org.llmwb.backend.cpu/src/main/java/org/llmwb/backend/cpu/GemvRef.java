package org.llmwb.backend.cpu;

/** Reference y[B, N] = x[B, K] · Wᵀ in double, for bf16-rounded, INT8 and INT4 weights. */
public final class GemvRef {
    /** The weight element at (row n, column k). */
    public interface Weight {
        float at(int n, int k);
    }

    private GemvRef() {
    }

    public static float[] compute(Weight w, float[] x, int B, int N, int K) {
        float[] y = new float[B * N];
        // output rows in parallel: each element is one sequential double sum, so the result does not depend on threads
        java.util.stream.IntStream.range(0, N).parallel().forEach(n -> {
            for (int b = 0; b < B; b++) {
                double s = 0;
                for (int k = 0; k < K; k++) {
                    s += (double) w.at(n, k) * x[b * K + k];
                }
                y[b * N + n] = (float) s;
            }
        });
        return y;
    }
}
