package org.llmwb.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.llmwb.core.numeric.Half;

class ReferenceTest {

    @Test
    void attentionOverIdenticalKeysAveragesValues() {
        // 1 sequence, 2 query heads sharing 1 KV head, D = 2, 3 tokens with equal keys: softmax is uniform
        float[] q = {1, 0, 0, 1};
        float[] k = {1, 1, 1, 1, 1, 1};
        float[] v = {1, 2, 3, 4, 5, 6};
        float[] out = DecodeAttentionRef.compute(q, k, v, null, new int[] {3}, 1, 2, 1, 2, 3, 1);
        assertEquals(3f, out[0], 1e-6);
        assertEquals(4f, out[1], 1e-6);
        assertEquals(3f, out[2], 1e-6);
    }

    @Test
    void pagedAndContiguousAgree() {
        Random r = new Random(3);
        int B = 2, H = 4, KVH = 2, D = 8, ctx = 5, bs = 2, maxLen = 6;
        float[] q = new float[B * H * D];
        float[] k = new float[B * maxLen * KVH * D];
        float[] v = new float[k.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian();
        }
        // paged: block i of sequence b is physical block (b * 3 + i) reversed within the pool of 6 blocks
        int[][] tables = new int[B][3];
        float[] kp = new float[6 * bs * KVH * D];
        float[] vp = new float[kp.length];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < 3; i++) {
                int phys = 5 - (b * 3 + i);
                tables[b][i] = phys;
                for (int o = 0; o < bs; o++) {
                    int t = i * bs + o;
                    System.arraycopy(k, (b * maxLen + t) * KVH * D, kp, (phys * bs + o) * KVH * D, KVH * D);
                    System.arraycopy(v, (b * maxLen + t) * KVH * D, vp, (phys * bs + o) * KVH * D, KVH * D);
                }
            }
        }
        float[] a = DecodeAttentionRef.compute(q, k, v, null, new int[] {ctx, 3}, B, H, KVH, D, maxLen, 1);
        float[] p = DecodeAttentionRef.compute(q, kp, vp, tables, new int[] {ctx, 3}, B, H, KVH, D, maxLen, bs);
        assertTrue(Compare.of(p, a).maxAbs() < 1e-6, Compare.of(p, a).toString());
    }

    @Test
    void quantizersRoundTripWithinHalfAStep() {
        Random r = new Random(1);
        int n = 3, k = 256;
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian() * 0.02f;
        }
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, false);
        Quantize.Int4 q4a = Quantize.int4Grouped(w, n, k, true);
        for (int row = 0; row < n; row++) {
            for (int c = 0; c < k; c++) {
                float x = w[row * k + c];
                assertTrue(Math.abs(q8.dequant(row, c) - x) <= q8.scales()[row] / 2 + 1e-9);
                int g = row * 2 + c / 128;
                assertTrue(Math.abs(q4.dequant(row, c) - x) <= q4.scales()[g] / 2 + 1e-7, "sym int4");
                assertTrue(Math.abs(q4a.dequant(row, c) - x) <= q4a.scales()[g] * 0.5 + 1e-7, "asym int4");
            }
        }
        // nibble packing: element 0 in the low nibble of byte 0
        assertEquals(q4.packed()[0] & 0xf, q4.nibble(0, 0));
        assertEquals((q4.packed()[0] >> 4) & 0xf, q4.nibble(0, 1));
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, Half.toBf16(1.0f));
        assertEquals(1.0f, Half.bf16ToFloat(Half.toBf16(1.00390625f))); // halfway between 1 and 1+2^-7: ties to even
        assertEquals(1.0078125f, Half.bf16ToFloat(Half.toBf16(1.005f)));
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.toBf16(Float.NaN))));
    }

    @Test
    void ropeFrequenciesAndRotation() {
        // no scaling: 1 / theta^(2i/d); position 0 leaves x unchanged; a rotation keeps each pair's norm
        float[] inv = LayersRef.ropeInvFreq(4, 10000, 0, 0, 0, 0);
        assertEquals(1f, inv[0]);
        assertEquals(0.01f, inv[1], 1e-9);
        float[] x = {1, 2, 3, 4};
        assertEquals(java.util.Arrays.toString(x), java.util.Arrays.toString(LayersRef.rope(x, new int[] {0}, inv, 1, 4)));
        float[] y = LayersRef.rope(x, new int[] {7}, inv, 1, 4);
        assertEquals(1 * 1 + 3 * 3, y[0] * y[0] + y[2] * y[2], 1e-4);
        // Llama-3 scaling: the longest wavelengths are divided by the factor, the shortest kept
        float[] l3 = LayersRef.ropeInvFreq(128, 500000, 8, 1, 4, 8192);
        float[] plain = LayersRef.ropeInvFreq(128, 500000, 0, 0, 0, 0);
        assertEquals(plain[0], l3[0]);
        assertEquals(plain[63] / 8, l3[63], 1e-12);
    }

    @Test
    void nvfp4ByHand() {
        // one block: absmax 6 → global scale 6 / (6 · 448); block scale e4m3(6 / (6 · g)) = 448 → codes are x itself
        float[] x = new float[16];
        x[0] = 6f;
        x[1] = -0.75f; // halfway between 0.5 (code 1, odd) and 1.0 (code 2, even): ties to even → -1.0
        x[2] = 2.4f; // nearest 2.0
        float g = Quantize.nvfp4GlobalScale(x);
        Quantize.Nvfp4 q = Quantize.nvfp4(x, g);
        assertEquals(6f, q.dequant(0), 1e-6);
        assertEquals(-1f, q.dequant(1), 1e-6);
        assertEquals(2f, q.dequant(2), 1e-6);
        assertEquals(0f, q.dequant(3));
    }
}
