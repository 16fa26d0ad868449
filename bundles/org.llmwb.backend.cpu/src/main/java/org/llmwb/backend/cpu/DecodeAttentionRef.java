package org.llmwb.backend.cpu;

/**
 * Reference decode attention (double accumulation): for each sequence b and query head h, the
 * softmax of q·k / sqrt(D) over the sequence's cached tokens, applied to V. The KV head of query
 * head h is h / (H / KVH) (GQA). Token t of sequence b lives at cache row
 * {@code blockTable[b][t / blockSize] * blockSize + t % blockSize} (paged) or {@code b * maxLen + t}
 * (contiguous, blockTable null).
 */
public final class DecodeAttentionRef {
    private DecodeAttentionRef() {
    }

    /**
     * @param q [B, H, D]
     * @param kCache, vCache [rows, KVH, D]
     * @param blockTables [B][maxBlocks] or null for a contiguous cache with rows b × maxLen + t
     * @return out [B, H, D]
     */
    public static float[] compute(float[] q, float[] kCache, float[] vCache, int[][] blockTables, int[] contextLens, int B, int H, int KVH,
            int D, int maxLen, int blockSize) {
        float[] out = new float[B * H * D];
        int group = H / KVH;
        double scale = 1.0 / Math.sqrt(D);
        for (int b = 0; b < B; b++) {
            int ctx = contextLens[b];
            for (int h = 0; h < H; h++) {
                int kvh = h / group;
                double[] s = new double[ctx];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < ctx; t++) {
                    long row = blockTables == null ? (long) b * maxLen + t : (long) blockTables[b][t / blockSize] * blockSize + t % blockSize;
                    long off = (row * KVH + kvh) * D;
                    double dot = 0;
                    for (int d = 0; d < D; d++) {
                        dot += (double) q[(b * H + h) * D + d] * kCache[(int) (off + d)];
                    }
                    s[t] = dot * scale;
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                double[] acc = new double[D];
                for (int t = 0; t < ctx; t++) {
                    double p = Math.exp(s[t] - max);
                    sum += p;
                    long row = blockTables == null ? (long) b * maxLen + t : (long) blockTables[b][t / blockSize] * blockSize + t % blockSize;
                    long off = (row * KVH + kvh) * D;
                    for (int d = 0; d < D; d++) {
                        acc[d] += p * vCache[(int) (off + d)];
                    }
                }
                for (int d = 0; d < D; d++) {
                    out[(b * H + h) * D + d] = (float) (acc[d] / sum);
                }
            }
        }
        return out;
    }
}
