package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.Layers;
import org.llmwb.backend.cuda.ops.Quantizers;
import org.llmwb.core.numeric.Half;

/**
 * The forward pass's building blocks against their references (tolerance 1e-2 of the largest output
 * for bf16 outputs; exact for gathers and argmax) and the quantizers bit for bit against Java's.
 */
class LayersAndQuantGpuTest extends GpuTestBase {

    @ParameterizedTest(name = "rows {0} dim {1}")
    @CsvSource({"1, 8", "3, 296", "19, 4096"})
    void rmsnorm(int rows, int dim) {
        Random r = new Random(dim);
        float[] x = Half.roundBf16(gaussian(r, rows * dim, 2));
        float[] w = Half.roundBf16(gaussian(r, dim, 1));
        float[] ref = LayersRef.rmsnorm(x, w, dim, 1e-5);
        try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dy = gpu.alloc("y", 2L * x.length)) {
            new Layers(gpu).rmsnorm(dx, dw, dy, rows, dim, 1e-5f);
            check("rmsnorm", Half.bf16ToFloat(gpu.downloadShorts(dy, x.length)), ref);
        }
    }

    @ParameterizedTest(name = "heads {0} headDim {1} llama3 scaling {2}")
    @CsvSource({"1, 64, false", "3, 128, true", "32, 64, true"})
    void rope(int heads, int headDim, boolean llama3) {
        Random r = new Random(heads + headDim);
        int[] pos = {0, 1, 17, 4097, 131071};
        float[] x = Half.roundBf16(gaussian(r, pos.length * heads * headDim, 1));
        float[] inv = llama3 ? LayersRef.ropeInvFreq(headDim, 500000, 8, 1, 4, 8192) : LayersRef.ropeInvFreq(headDim, 10000, 0, 0, 0, 0);
        float[] ref = LayersRef.rope(x, pos, inv, heads, headDim);
        try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dp = gpu.upload("pos", pos); DeviceBuffer df = gpu.upload("inv", inv)) {
            new Layers(gpu).rope(dx, dp, df, pos.length, heads, headDim);
            check("rope", Half.bf16ToFloat(gpu.downloadShorts(dx, x.length)), ref);
        }
    }

    /**
     * Bias add and per-head q/k RMSNorm on the fused projection, against a reference built from {@link LayersRef#rmsnorm}
     * over each head: Q heads normed with qNorm, K heads with kNorm, V heads only biased; bias only; norms only.
     */
    @ParameterizedTest(name = "hq {0} hkv {1} headDim {2} bias {3} norm {4}")
    @CsvSource({"4, 2, 128, true, true", "4, 2, 64, true, false", "3, 3, 64, false, true", "32, 8, 128, false, true", "2, 1, 96, true, true"})
    void qkvBiasNorm(int hq, int hkv, int headDim, boolean withBias, boolean withNorm) {
        Random r = new Random(hq * 7 + hkv * 3 + headDim);
        int tokens = 5;
        int heads = hq + 2 * hkv;
        int width = heads * headDim;
        float[] qkv = Half.roundBf16(gaussian(r, tokens * width, 1));
        float[] bias = Half.roundBf16(gaussian(r, width, 2));
        float[] qn = Half.roundBf16(gaussian(r, headDim, 1));
        float[] kn = Half.roundBf16(gaussian(r, headDim, 1));
        float[] ref = qkv.clone();
        for (int t = 0; t < tokens; t++) {
            for (int hh = 0; hh < heads; hh++) {
                int at = t * width + hh * headDim;
                float[] head = new float[headDim];
                for (int i = 0; i < headDim; i++) {
                    head[i] = withBias ? Half.roundBf16(new float[] {ref[at + i] + bias[hh * headDim + i]})[0] : ref[at + i];
                }
                if (withNorm && hh < hq + hkv) {
                    head = LayersRef.rmsnorm(head, hh < hq ? qn : kn, headDim, 1e-6);
                }
                System.arraycopy(head, 0, ref, at, headDim);
            }
        }
        try (DeviceBuffer dx = gpu.upload("qkv", Half.toBf16(qkv)); DeviceBuffer db = gpu.upload("bias", Half.toBf16(bias));
                DeviceBuffer dq = gpu.upload("q norm", Half.toBf16(qn)); DeviceBuffer dk = gpu.upload("k norm", Half.toBf16(kn))) {
            new Layers(gpu).qkvBiasNorm(dx, withBias ? db : null, withNorm ? dq : null, withNorm ? dk : null, tokens, hq, hkv, headDim, 1e-6f);
            check("qkv_bias_norm", Half.bf16ToFloat(gpu.downloadShorts(dx, qkv.length)), ref);
        }
    }

    /** Argmax of listed bf16 rows against the host's (first maximum wins): planted ties, a vocabulary that is not a multiple of 8. */
    @ParameterizedTest(name = "vocab {0} stride {1}")
    @CsvSource({"256, 256", "1001, 1008", "128256, 128256", "13, 13"})
    void argmaxRows(int vocab, int stride) {
        Random r = new Random(vocab);
        int rowsInBuffer = 6;
        short[] logits = new short[rowsInBuffer * stride];
        float[][] host = new float[rowsInBuffer][vocab];
        for (int row = 0; row < rowsInBuffer; row++) {
            for (int i = 0; i < vocab; i++) {
                host[row][i] = Half.roundBf16(new float[] {(float) r.nextGaussian() * 3})[0];
            }
            int a = r.nextInt(vocab);
            int b = r.nextInt(vocab);
            host[row][a] = 50f; // a tie of the maximum at two places (or one, when a == b): the lower index wins
            host[row][b] = 50f;
            short[] bf = Half.toBf16(host[row]);
            System.arraycopy(bf, 0, logits, row * stride, vocab);
            for (int i = vocab; i < stride; i++) {
                logits[row * stride + i] = Half.toBf16(new float[] {99f})[0]; // padding columns hold larger values: never read
            }
        }
        int[] rows = {4, 0, 5, 2};
        try (DeviceBuffer dl = gpu.upload("logits", logits); DeviceBuffer dr = gpu.upload("rows", rows); DeviceBuffer out = gpu.alloc("out", 4L * rows.length)) {
            new Layers(gpu).argmaxRows(dl, dr, out, rows.length, vocab, stride, 5);
            int[] got = gpu.downloadInts(out, rows.length);
            for (int k = 0; k < rows.length; k++) {
                assertArrayEquals(new int[] {org.llmwb.engine.sched.Sampler.argmax(host[rows[k]])}, new int[] {got[k]}, "row " + rows[k]);
            }
        }
    }

    @Test
    void addRowBias() {
        Random r = new Random(3);
        int tokens = 7;
        int dim = 300;
        float[] x = Half.roundBf16(gaussian(r, tokens * dim, 1));
        float[] b = Half.roundBf16(gaussian(r, dim, 1));
        float[] ref = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            ref[i] = x[i] + b[i % dim];
        }
        try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer db = gpu.upload("bias", Half.toBf16(b))) {
            new Layers(gpu).addRowBias(dx, db, tokens, dim);
            check("add_row_bias", Half.bf16ToFloat(gpu.downloadShorts(dx, x.length)), ref);
        }
    }

    /**
     * The fused RoPE + KV write against rope_bf16's reference and a plain copy: Q rotated into q, K rotated and V
     * copied into each token's slot of the paged caches; a slot of −1 (a padding row) leaves the caches untouched.
     */
    @ParameterizedTest(name = "hq {0} hkv {1} headDim {2}")
    @CsvSource({"32, 8, 64", "4, 4, 128", "12, 3, 128", "2, 1, 64"})
    void ropeQkvPaged(int hq, int hkv, int headDim) {
        Random r = new Random(hq * 31 + hkv + headDim);
        int[] pos = {0, 1, 17, 4097, 131071};
        int[] slots = {5, -1, 0, 9, 2};
        int width = (hq + 2 * hkv) * headDim;
        int kw = hkv * headDim;
        int slotsInPool = 12;
        float[] qkv = Half.roundBf16(gaussian(r, pos.length * width, 1));
        float[] inv = LayersRef.ropeInvFreq(headDim, 500000, 8, 1, 4, 8192);
        float[] qIn = new float[pos.length * hq * headDim];
        float[] kIn = new float[pos.length * kw];
        for (int t = 0; t < pos.length; t++) {
            System.arraycopy(qkv, t * width, qIn, t * hq * headDim, hq * headDim);
            System.arraycopy(qkv, t * width + hq * headDim, kIn, t * kw, kw);
        }
        float[] qRef = LayersRef.rope(qIn, pos, inv, hq, headDim);
        float[] kRef = LayersRef.rope(kIn, pos, inv, hkv, headDim);
        short[] marker = new short[slotsInPool * kw];
        java.util.Arrays.fill(marker, (short) 0x7fc1); // a NaN pattern: a slot nobody writes keeps it
        try (DeviceBuffer dqkv = gpu.upload("qkv", Half.toBf16(qkv)); DeviceBuffer dp = gpu.upload("pos", pos); DeviceBuffer df = gpu.upload("inv", inv);
                DeviceBuffer ds = gpu.upload("slots", slots); DeviceBuffer dq = gpu.alloc("q", 2L * qIn.length);
                DeviceBuffer kc = gpu.upload("k cache", marker); DeviceBuffer vc = gpu.upload("v cache", marker)) {
            new Layers(gpu).ropeQkvPaged(dqkv, dp, df, dq, kc, vc, ds, pos.length, hq, hkv, headDim);
            check("rope_qkv q", Half.bf16ToFloat(gpu.downloadShorts(dq, qIn.length)), qRef);
            short[] k = gpu.downloadShorts(kc, marker.length);
            short[] v = gpu.downloadShorts(vc, marker.length);
            boolean[] written = new boolean[slotsInPool];
            for (int t = 0; t < pos.length; t++) {
                if (slots[t] < 0) {
                    continue;
                }
                written[slots[t]] = true;
                float[] kGot = Half.bf16ToFloat(java.util.Arrays.copyOfRange(k, slots[t] * kw, (slots[t] + 1) * kw));
                check("rope_qkv k t" + t, kGot, java.util.Arrays.copyOfRange(kRef, t * kw, (t + 1) * kw));
                short[] vGot = java.util.Arrays.copyOfRange(v, slots[t] * kw, (slots[t] + 1) * kw);
                assertArrayEquals(Half.toBf16(java.util.Arrays.copyOfRange(qkv, t * width + (hq + hkv) * headDim, (t + 1) * width)), vGot, "V of token " + t);
            }
            for (int s = 0; s < slotsInPool; s++) {
                if (!written[s]) {
                    assertArrayEquals(java.util.Arrays.copyOfRange(marker, s * kw, (s + 1) * kw), java.util.Arrays.copyOfRange(k, s * kw, (s + 1) * kw),
                            "slot " + s + " was written");
                }
            }
        }
    }

    @Test
    void siluMulEmbeddingArgmax() {
        Random r = new Random(5);
        int tokens = 7, inter = 1000;
        float[] gu = Half.roundBf16(gaussian(r, tokens * 2 * inter, 3));
        Layers l = new Layers(gpu);
        try (DeviceBuffer dg = gpu.upload("gu", Half.toBf16(gu)); DeviceBuffer out = gpu.alloc("out", 2L * tokens * inter)) {
            l.siluMul(dg, out, tokens, inter);
            check("silu_mul", Half.bf16ToFloat(gpu.downloadShorts(out, tokens * inter)), LayersRef.siluMul(gu, tokens, inter));
        }
        int vocab = 1003, dim = 72;
        short[] table = Half.toBf16(gaussian(r, vocab * dim, 1));
        int[] ids = {0, 1002, 17, 17, 500};
        try (DeviceBuffer dt = gpu.upload("table", table); DeviceBuffer di = gpu.upload("ids", ids); DeviceBuffer out = gpu.alloc("emb", 2L * ids.length * dim)) {
            l.embedding(dt, vocab, dim, ids, di, out);
            short[] got = gpu.downloadShorts(out, ids.length * dim);
            for (int t = 0; t < ids.length; t++) {
                assertArrayEquals(java.util.Arrays.copyOfRange(table, ids[t] * dim, (ids[t] + 1) * dim),
                        java.util.Arrays.copyOfRange(got, t * dim, (t + 1) * dim), "row " + t);
            }
            assertThrows(IllegalArgumentException.class, () -> l.embedding(dt, vocab, dim, new int[] {1003}, di, out));
        }
        int rows = 3, v = 128256;
        float[] logits = gaussian(r, rows * v, 1);
        logits[5] = 9f;
        logits[77] = 9f; // tie in row 0: the lower index wins
        logits[v + 3] = Float.NaN; // NaN never wins
        logits[2 * v + v - 1] = 50f; // the last element
        try (DeviceBuffer dl = gpu.upload("logits", logits); DeviceBuffer out = gpu.alloc("argmax", 4L * rows)) {
            l.argmax(dl, out, rows, v);
            int[] want = LayersRef.argmax(logits, v);
            float[] gotF = gpu.downloadFloats(out, rows);
            int[] got = new int[rows];
            for (int i = 0; i < rows; i++) {
                got[i] = Float.floatToRawIntBits(gotF[i]);
            }
            assertArrayEquals(want, got);
            assertTrue(want[0] == 5 && want[2] == v - 1);
        }
    }

    @ParameterizedTest(name = "rows {0} cols {1}")
    @CsvSource({"1, 128", "19, 384", "100, 4096"})
    void quantizersAreBitExact(int rows, int cols) {
        Random r = new Random(rows * cols);
        float[] w = Half.roundBf16(gaussian(r, rows * cols, 0.05));
        w[3] = Half.bf16ToFloat(Half.toBf16(0.2f)); // an outlier, rounded to bf16 like every input the GPU sees
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, rows, cols);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, rows, cols, false);
        Quantize.Int4 q4a = Quantize.int4Grouped(w, rows, cols, true);
        Quantizers qz = new Quantizers(gpu);
        int groups = cols / 128;
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer d8 = gpu.alloc("q8", (long) rows * cols); DeviceBuffer s8 = gpu.alloc("s8", 4L * rows);
                DeviceBuffer d4 = gpu.alloc("q4", (long) rows * cols / 2); DeviceBuffer s4 = gpu.alloc("s4", 4L * rows * groups);
                DeviceBuffer z4 = gpu.alloc("z4", (long) rows * groups)) {
            qz.int8Rows(dw, d8, s8, rows, cols);
            assertArrayEquals(q8.q(), gpu.downloadBytes(d8, rows * cols), "int8 values");
            assertArrayEquals(q8.scales(), gpu.downloadFloats(s8, rows), 0f, "int8 scales");
            qz.int4Groups(dw, d4, s4, null, rows, cols);
            assertArrayEquals(q4.packed(), gpu.downloadBytes(d4, rows * cols / 2), "int4 sym values");
            assertArrayEquals(q4.scales(), gpu.downloadFloats(s4, rows * groups), 0f, "int4 sym scales");
            qz.int4Groups(dw, d4, s4, z4, rows, cols);
            assertArrayEquals(q4a.packed(), gpu.downloadBytes(d4, rows * cols / 2), "int4 asym values");
            assertArrayEquals(q4a.scales(), gpu.downloadFloats(s4, rows * groups), 0f, "int4 asym scales");
            assertArrayEquals(q4a.zeros(), gpu.downloadBytes(z4, rows * groups), "int4 asym zeros");
        }
        // NVFP4 (emulated): packed codes and block scales bit for bit, dequantized values exactly
        int n = rows * cols;
        float g = Quantize.nvfp4GlobalScale(w);
        Quantize.Nvfp4 ref = Quantize.nvfp4(w, g);
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer p = gpu.alloc("p", n / 2); DeviceBuffer sc = gpu.alloc("sc", n / 16);
                DeviceBuffer back = gpu.alloc("back", 2L * n)) {
            qz.nvfp4(dw, p, sc, n, g);
            assertArrayEquals(ref.packed(), gpu.downloadBytes(p, n / 2), "nvfp4 codes");
            assertArrayEquals(ref.blockScales(), gpu.downloadBytes(sc, n / 16), "nvfp4 block scales");
            qz.nvfp4Dequant(p, sc, back, n, g);
            float[] got = Half.bf16ToFloat(gpu.downloadShorts(back, n));
            float[] want = new float[n];
            for (int i = 0; i < n; i++) {
                want[i] = Half.bf16ToFloat(Half.toBf16(ref.dequant(i)));
            }
            assertArrayEquals(want, got, 0f, "nvfp4 dequantized");
            Compare c = Compare.of(got, w);
            System.out.println("nvfp4 round trip error vs the bf16 weights: " + c);
        }
    }

    private static void check(String what, float[] got, float[] ref) {
        Compare c = Compare.of(got, ref);
        System.out.println(what + ": " + c);
        assertTrue(c.maxRel() <= 1e-2, what + ": " + c);
    }
}
