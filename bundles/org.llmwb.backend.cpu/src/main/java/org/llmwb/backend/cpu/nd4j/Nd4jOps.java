package org.llmwb.backend.cpu.nd4j;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import org.llmwb.backend.cpu.Quantize;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The forward pass's ops on ND4J (FP32 on the CPU): the CPU path of the engine and the CPU side of the
 * kernel lab. Same shapes and conventions as the CUDA launchers ({@code org.llmwb.backend.cuda.ops}) and
 * the double-precision references beside this package, which the tests check these against.
 *
 * <p>Activations are row-major {@code [tokens, features]}; linear weights are stored transposed,
 * {@code [in, out]}, so a layer is one GEMM {@code x · Wᵀ}. Heads are packed along the feature axis:
 * {@code [tokens, heads × headDim]}.
 */
public final class Nd4jOps {
    static {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    }

    private Nd4jOps() {
    }

    /** Loads ND4J's native backend now (first use takes ~1 s); returns a one-line description of it. */
    public static String warmUp() {
        INDArray a = Nd4j.ones(DataType.FLOAT, 4, 4);
        a.mmul(a);
        return "ND4J " + Nd4j.getBackend().getClass().getSimpleName() + ", " + Runtime.getRuntime().availableProcessors() + " CPU threads";
    }

    /** y[T, N] = x[T, K] · wT[K, N]. */
    public static INDArray linear(INDArray x, INDArray wT) {
        if (x.size(1) != wT.size(0)) {
            throw new IllegalArgumentException("linear: x has " + x.size(1) + " features but the weight expects " + wT.size(0));
        }
        return x.mmul(wT);
    }

    /** y = x / sqrt(mean(x²) + eps) · w per row. */
    public static INDArray rmsnorm(INDArray x, INDArray w, double eps) {
        INDArray ms = x.mul(x).mean(true, 1).addi(eps);
        INDArray inv = Transforms.pow(ms, -0.5, false);
        return x.mulColumnVector(inv).muliRowVector(w);
    }

    /** RoPE in place on x [T, heads × headDim] with the rotate-half pairing (i, i + headDim/2); angles in double. */
    public static void rope(INDArray x, int[] positions, float[] invFreq, int heads, int headDim) {
        int half = headDim / 2;
        int t = positions.length;
        if (x.rows() != t || x.columns() != (long) heads * headDim || invFreq.length != half) {
            throw new IllegalArgumentException("rope: x is " + x.shapeInfoToString() + ", expected [" + t + ", " + heads * headDim + "]");
        }
        float[] c = new float[t * half];
        float[] s = new float[t * half];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < half; j++) {
                double a = (double) positions[i] * invFreq[j];
                c[i * half + j] = (float) Math.cos(a);
                s[i * half + j] = (float) Math.sin(a);
            }
        }
        INDArray cos = Nd4j.create(c, new long[] {t, half}, 'c');
        INDArray sin = Nd4j.create(s, new long[] {t, half}, 'c');
        for (int h = 0; h < heads; h++) {
            INDArray x1 = x.get(all(), interval(h * headDim, h * headDim + half));
            INDArray x2 = x.get(all(), interval(h * headDim + half, (h + 1) * headDim));
            INDArray y1 = x1.mul(cos).subi(x2.mul(sin));
            INDArray y2 = x2.mul(cos).addi(x1.mul(sin));
            x1.assign(y1);
            x2.assign(y2);
        }
    }

    /** out[T, I] = silu(gateUp[:, :I]) · gateUp[:, I:]. */
    public static INDArray siluMul(INDArray gateUp) {
        long inter = gateUp.columns() / 2;
        INDArray g = gateUp.get(all(), interval(0, inter));
        INDArray u = gateUp.get(all(), interval(inter, 2 * inter));
        return Transforms.sigmoid(g, true).muli(g).muli(u);
    }

    /** Rows of table [V, D] for the token ids. */
    public static INDArray embedding(INDArray table, int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= table.rows()) {
                throw new IllegalArgumentException("embedding: token id " + ids[i] + " at " + i + " is outside the vocabulary of " + table.rows());
            }
        }
        return table.getRows(ids);
    }

    /** Index of the largest value per row of logits [B, V]. */
    public static int[] argmax(INDArray logits) {
        long[] a = Nd4j.argMax(logits, 1).toLongVector();
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (int) a[i];
        }
        return r;
    }

    /** Numerically stable softmax of every row of s, in place. */
    public static INDArray softmaxRows(INDArray s) {
        s.subiColumnVector(s.max(true, 1));
        Transforms.exp(s, false);
        return s.diviColumnVector(s.sum(true, 1));
    }

    /**
     * Decode attention for B sequences, one new query each.
     *
     * <p>Per sequence this is two GEMMs over its whole cache rows: the queries are laid out block-diagonally
     * ({@code [H, KVH × D]}, query head h non-zero only in its KV head's D columns), so the scores of every head
     * come from one product with the {@code [ctx, KVH × D]} keys, and the output's diagonal blocks from one
     * product with the values. That spends KVH× the FLOPs of per-head products but reads the cache once and
     * keeps ND4J's per-call overhead and strided copies out of the loop, which is what bounds it on a CPU.
     *
     * @param q [B, H × D]
     * @param kCache, vCache [rows, KVH × D]
     * @param blockTables [B][blocks] (paged: token t at row {@code table[t / blockSize] × blockSize + t % blockSize}),
     *        or null for a contiguous cache (row {@code b × maxLen + t})
     * @return [B, H × D]
     */
    public static INDArray decodeAttention(INDArray q, INDArray kCache, INDArray vCache, int[][] blockTables, int[] contextLens, int heads,
            int kvHeads, int headDim, int maxLen, int blockSize) {
        int b = contextLens.length;
        int group = heads / kvHeads;
        int row = kvHeads * headDim;
        INDArray out = Nd4j.create(DataType.FLOAT, b, (long) heads * headDim);
        for (int i = 0; i < b; i++) {
            int ctx = contextLens[i];
            INDArray k = blockTables == null ? kCache.get(interval((long) i * maxLen, (long) i * maxLen + ctx), all())
                    : gatherBlocks(kCache, blockTables[i], blockSize, ctx);
            INDArray v = blockTables == null ? vCache.get(interval((long) i * maxLen, (long) i * maxLen + ctx), all())
                    : gatherBlocks(vCache, blockTables[i], blockSize, ctx);
            INDArray qz = Nd4j.zeros(DataType.FLOAT, heads, row);
            for (int g = 0; g < kvHeads; g++) {
                qz.get(interval(g * group, (g + 1) * group), interval(g * headDim, (g + 1) * headDim))
                        .assign(q.get(point(i), interval((long) g * group * headDim, (long) (g + 1) * group * headDim)).reshape(group, headDim));
            }
            INDArray p = softmaxRows(qz.mmul(k.transpose()).muli(1.0 / Math.sqrt(headDim)));
            INDArray r = p.mmul(v);
            for (int g = 0; g < kvHeads; g++) {
                out.get(point(i), interval((long) g * group * headDim, (long) (g + 1) * group * headDim))
                        .assign(r.get(interval(g * group, (g + 1) * group), interval(g * headDim, (g + 1) * headDim)).dup('c').reshape(group * headDim));
            }
        }
        return out;
    }

    /** The first {@code ctx} token rows of a sequence from a paged pool [rows, width], copied block by block (runs of adjacent blocks at once). */
    public static INDArray gatherBlocks(INDArray pool, int[] table, int blockSize, int ctx) {
        INDArray dst = Nd4j.create(DataType.FLOAT, ctx, pool.columns());
        int blocks = (ctx + blockSize - 1) / blockSize;
        if (blocks > table.length) {
            throw new IllegalArgumentException("block table of " + table.length + " blocks for " + ctx + " tokens of block size " + blockSize);
        }
        int j = 0;
        while (j < blocks) {
            int run = 1;
            while (j + run < blocks && table[j + run] == table[j] + run) {
                run++;
            }
            long t0 = (long) j * blockSize;
            long n = Math.min((long) run * blockSize, ctx - t0);
            long src = (long) table[j] * blockSize;
            if (table[j] < 0 || src + n > pool.rows()) {
                throw new IllegalArgumentException("block " + table[j] + " at table index " + j + " is outside the pool of " + pool.rows() / blockSize + " blocks");
            }
            dst.get(interval(t0, t0 + n), all()).assign(pool.get(interval(src, src + n), all()));
            j += run;
        }
        return dst;
    }

    /**
     * Causal attention of T new queries over S = past + T keys (the first {@code past} from the cache):
     * query i, at position past + i, sees keys 0..past + i.
     *
     * @param q [T, H × D]; k, v [S, KVH × D]
     * @return [T, H × D]
     */
    public static INDArray prefillAttention(INDArray q, INDArray k, INDArray v, int past, int heads, int kvHeads, int headDim) {
        int t = (int) q.rows();
        int s = (int) k.rows();
        if (s != past + t) {
            throw new IllegalArgumentException("prefillAttention: " + s + " keys for " + past + " cached + " + t + " new tokens");
        }
        int group = heads / kvHeads;
        float[] m = new float[t * s];
        for (int i = 0; i < t; i++) {
            for (int j = past + i + 1; j < s; j++) {
                m[i * s + j] = Float.NEGATIVE_INFINITY;
            }
        }
        INDArray mask = Nd4j.create(m, new long[] {t, s}, 'c');
        INDArray out = Nd4j.create(DataType.FLOAT, t, (long) heads * headDim);
        double scale = 1.0 / Math.sqrt(headDim);
        for (int h = 0; h < heads; h++) {
            int g = h / group;
            INDArray qh = q.get(all(), interval(h * headDim, (h + 1) * headDim));
            INDArray kg = k.get(all(), interval(g * headDim, (g + 1) * headDim));
            INDArray vg = v.get(all(), interval(g * headDim, (g + 1) * headDim));
            INDArray p = softmaxRows(qh.mmul(kg.transpose()).muli(scale).addi(mask));
            out.get(all(), interval(h * headDim, (h + 1) * headDim)).assign(p.mmul(vg));
        }
        return out;
    }

    /** A float matrix [rows, cols] from row-major values. */
    public static INDArray matrix(float[] values, int rows, int cols) {
        return Nd4j.create(values, new long[] {rows, cols}, 'c');
    }

    /** The transposed [K, N] float weight of INT8 per-channel weights (dequantized once, at load). */
    public static INDArray dequantT(Quantize.Int8 w) {
        return Nd4j.createFromArray(w.q()).castTo(DataType.FLOAT).reshape(w.n(), w.k()).muliColumnVector(Nd4j.createFromArray(w.scales()).reshape(w.n(), 1))
                .transpose().dup('c');
    }

    /** The transposed [K, N] float weight of INT4 group-wise weights (dequantized once, at load). */
    public static INDArray dequantT(Quantize.Int4 w) {
        float[] f = new float[w.n() * w.k()];
        for (int r = 0; r < w.n(); r++) {
            for (int c = 0; c < w.k(); c++) {
                f[r * w.k() + c] = w.dequant(r, c);
            }
        }
        return matrix(f, w.n(), w.k()).transpose().dup('c');
    }

    /** Row-major floats of an array (a copy). */
    public static float[] floats(INDArray a) {
        return a.dup('c').data().asFloat();
    }
}
