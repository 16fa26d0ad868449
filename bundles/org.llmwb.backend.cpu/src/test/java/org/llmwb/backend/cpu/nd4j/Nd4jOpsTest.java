package org.llmwb.backend.cpu.nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.PrefillAttentionRef;
import org.llmwb.backend.cpu.Quantize;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The ND4J ops against the double-precision references over odd shapes; FP32 tolerance 2e-5 of the output's scale unless stated. */
class Nd4jOpsTest {
    private static final double TOL = 2e-5;

    private static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static void close(float[] got, float[] ref, double tol, String what) {
        Compare c = Compare.of(got, ref);
        assertTrue(c.maxRel() <= tol, what + ": " + c);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 7", "3, 19, 130", "16, 257, 64"})
    void linearMatchesReference(int b, int n, int k) {
        Random r = new Random(b * 31 + n);
        float[] w = gaussian(r, n * k);
        float[] x = gaussian(r, b * k);
        INDArray wT = Nd4jOps.matrix(w, n, k).transpose().dup('c');
        float[] got = Nd4jOps.floats(Nd4jOps.linear(Nd4jOps.matrix(x, b, k), wT));
        close(got, GemvRef.compute((i, j) -> w[i * k + j], x, b, n, k), TOL, "linear " + b + "x" + n + "x" + k);
    }

    @Test
    void quantizedWeightsDequantizeToTheReferenceValues() {
        Random r = new Random(5);
        int n = 19;
        int k = 256;
        float[] w = gaussian(r, n * k);
        float[] x = gaussian(r, 3 * k);
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, true);
        close(Nd4jOps.floats(Nd4jOps.linear(Nd4jOps.matrix(x, 3, k), Nd4jOps.dequantT(q8))), GemvRef.compute(q8::dequant, x, 3, n, k), TOL, "w8");
        close(Nd4jOps.floats(Nd4jOps.linear(Nd4jOps.matrix(x, 3, k), Nd4jOps.dequantT(q4))), GemvRef.compute(q4::dequant, x, 3, n, k), TOL, "w4");
    }

    @Test
    void layersMatchReferences() {
        Random r = new Random(9);
        int t = 17;
        int heads = 3;
        int d = 64;
        float[] x = gaussian(r, t * heads * d);
        float[] w = gaussian(r, heads * d);
        close(Nd4jOps.floats(Nd4jOps.rmsnorm(Nd4jOps.matrix(x, t, heads * d), Nd4jOps.matrix(w, 1, heads * d), 1e-5)),
                LayersRef.rmsnorm(x, w, heads * d, 1e-5), TOL, "rmsnorm");
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = 4000 + 7 * i; // large positions: angles computed in double, as in the reference
        }
        float[] inv = LayersRef.ropeInvFreq(d, 500000, 8, 1, 4, 8192);
        INDArray xr = Nd4jOps.matrix(x, t, heads * d);
        Nd4jOps.rope(xr, pos, inv, heads, d);
        close(Nd4jOps.floats(xr), LayersRef.rope(x, pos, inv, heads, d), TOL, "rope");
        float[] gu = gaussian(r, t * 2 * 45);
        close(Nd4jOps.floats(Nd4jOps.siluMul(Nd4jOps.matrix(gu, t, 90))), LayersRef.siluMul(gu, t, 45), TOL, "silu_mul");
        float[] logits = gaussian(r, 3 * 1001);
        assertArrayEquals(LayersRef.argmax(logits, 1001), Nd4jOps.argmax(Nd4jOps.matrix(logits, 3, 1001)));
        float[] table = gaussian(r, 50 * 8);
        float[] rows = Nd4jOps.floats(Nd4jOps.embedding(Nd4jOps.matrix(table, 50, 8), new int[] {49, 0, 7}));
        assertArrayEquals(java.util.Arrays.copyOfRange(table, 49 * 8, 50 * 8), java.util.Arrays.copyOfRange(rows, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> Nd4jOps.embedding(Nd4jOps.matrix(table, 50, 8), new int[] {50}));
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 8, 8, 64, 16", "3, 17, 32, 8, 128, 8", "2, 1000, 4, 1, 64, 32", "1, 4097, 8, 2, 128, 16"})
    void pagedDecodeAttentionMatchesReference(int b, int ctx, int heads, int kvHeads, int d, int bs) {
        Random r = new Random(ctx);
        int blocks = (ctx + bs - 1) / bs;
        int pool = b * blocks + 3;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < pool; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, r);
        int[][] tables = new int[b][blocks];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < blocks; j++) {
                tables[i][j] = ids.get(i * blocks + j);
            }
        }
        int[] lens = new int[b];
        for (int i = 0; i < b; i++) {
            lens[i] = Math.max(1, ctx - 5 * i);
        }
        float[] q = gaussian(r, b * heads * d);
        float[] k = gaussian(r, pool * bs * kvHeads * d);
        float[] v = gaussian(r, k.length);
        float[] ref = DecodeAttentionRef.compute(q, k, v, tables, lens, b, heads, kvHeads, d, ctx, bs);
        INDArray got = Nd4jOps.decodeAttention(Nd4jOps.matrix(q, b, heads * d), Nd4jOps.matrix(k, pool * bs, kvHeads * d),
                Nd4jOps.matrix(v, pool * bs, kvHeads * d), tables, lens, heads, kvHeads, d, ctx, bs);
        close(Nd4jOps.floats(got), ref, TOL, "paged decode b" + b + " ctx" + ctx);
    }

    @Test
    void contiguousDecodeAttentionMatchesReference() {
        Random r = new Random(2);
        int b = 3, ctx = 33, heads = 8, kvHeads = 2, d = 64;
        float[] q = gaussian(r, b * heads * d);
        float[] k = gaussian(r, b * ctx * kvHeads * d);
        float[] v = gaussian(r, k.length);
        int[] lens = {33, 1, 20};
        float[] ref = DecodeAttentionRef.compute(q, k, v, null, lens, b, heads, kvHeads, d, ctx, 1);
        INDArray got = Nd4jOps.decodeAttention(Nd4jOps.matrix(q, b, heads * d), Nd4jOps.matrix(k, b * ctx, kvHeads * d),
                Nd4jOps.matrix(v, b * ctx, kvHeads * d), null, lens, heads, kvHeads, d, ctx, 1);
        close(Nd4jOps.floats(got), ref, TOL, "contiguous decode");
    }

    @ParameterizedTest
    @CsvSource({"1, 0, 4, 4, 64", "17, 0, 8, 2, 64", "5, 12, 8, 1, 128", "31, 100, 4, 4, 64"})
    void causalPrefillAttentionMatchesReference(int t, int past, int heads, int kvHeads, int d) {
        Random r = new Random(t * 7 + past);
        int s = past + t;
        float[] q = gaussian(r, t * heads * d);
        float[] k = gaussian(r, s * kvHeads * d);
        float[] v = gaussian(r, k.length);
        float[] ref = PrefillAttentionRef.compute(q, k, v, past, t, heads, kvHeads, d);
        INDArray got = Nd4jOps.prefillAttention(Nd4jOps.matrix(q, t, heads * d), Nd4jOps.matrix(k, s, kvHeads * d), Nd4jOps.matrix(v, s, kvHeads * d),
                past, heads, kvHeads, d);
        close(Nd4jOps.floats(got), ref, TOL, "prefill t" + t + " past" + past);
    }
}
