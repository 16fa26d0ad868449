package org.llmwb.backend.cpu;

/**
 * Reference causal prefill attention (double accumulation): T new queries at positions past..past+T−1
 * over S = past + T keys; query i sees keys 0..past + i. GQA: query head h reads KV head h / (H / KVH).
 * Layouts: q [T, H, D], k and v [S, KVH, D], out [T, H, D].
 */
public final class PrefillAttentionRef {
    private PrefillAttentionRef() {
    }

    public static float[] compute(float[] q, float[] k, float[] v, int past, int T, int H, int KVH, int D) {
        int s = past + T;
        int group = H / KVH;
        double scale = 1.0 / Math.sqrt(D);
        float[] out = new float[T * H * D];
        double[] p = new double[s];
        for (int i = 0; i < T; i++) {
            int visible = past + i + 1;
            for (int h = 0; h < H; h++) {
                int g = h / group;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) {
                        dot += (double) q[(i * H + h) * D + d] * k[(j * KVH + g) * D + d];
                    }
                    p[j] = dot * scale;
                    max = Math.max(max, p[j]);
                }
                double z = 0;
                for (int j = 0; j < visible; j++) {
                    p[j] = Math.exp(p[j] - max);
                    z += p[j];
                }
                for (int d = 0; d < D; d++) {
                    double acc = 0;
                    for (int j = 0; j < visible; j++) {
                        acc += p[j] * v[(j * KVH + g) * D + d];
                    }
                    out[(i * H + h) * D + d] = (float) (acc / z);
                }
            }
        }
        return out;
    }
}
