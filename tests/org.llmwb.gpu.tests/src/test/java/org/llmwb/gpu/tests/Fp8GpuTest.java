package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.Fp8Convert;
import org.llmwb.core.numeric.Fp8;
import org.llmwb.core.numeric.Half;

/** FP8 conversions bit-exact against the Java codec, and decode attention over an FP8 KV cache. */
class Fp8GpuTest extends GpuTestBase {

    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"E4M3, 1", "E4M3, 1003", "E5M2, 4096", "E4M3, 65543"})
    void conversionsAreBitExact(Fp8.Format f, int n) {
        Random r = new Random(n);
        float[] x = Half.roundBf16(gaussian(r, n, 3));
        x[0] = 1e6f; // saturates
        float scale = 2f; // keeps most values in range while 1e6 / 2 still saturates
        Fp8Convert conv = new Fp8Convert(gpu);
        try (DeviceBuffer in = gpu.upload("x", Half.toBf16(x)); DeviceBuffer q = gpu.alloc("q", n); DeviceBuffer back = gpu.alloc("back", 2L * n)) {
            conv.fromBf16(f, in, q, n, scale);
            byte[] got = gpu.downloadBytes(q, n);
            int mismatches = 0;
            String first = null;
            for (int i = 0; i < n; i++) {
                byte want = Fp8.encode(f, x[i] / scale);
                if (want != got[i]) {
                    mismatches++;
                    if (first == null) {
                        first = "[" + i + "] x=" + x[i] + " want " + (want & 0xff) + " got " + (got[i] & 0xff);
                    }
                }
            }
            assertEquals(0, mismatches, first);
            conv.toBf16(f, q, back, n, scale);
            float[] b = Half.bf16ToFloat(gpu.downloadShorts(back, n));
            for (int i = 0; i < n; i++) {
                assertEquals(Half.bf16ToFloat(Half.toBf16(Fp8.decode(f, got[i]) * scale)), b[i], 0f, "element " + i);
            }
        }
    }

    @ParameterizedTest(name = "B{0} ctx{1} split{2}")
    @CsvSource({"3, 1000, 0", "19, 17, 0", "2, 4097, 512"})
    void attentionOverAnFp8Cache(int batch, int ctx, int partition) {
        Random r = new Random(ctx);
        int kvh = 2, group = 4, heads = kvh * group, d = 128, bs = 16;
        int row = kvh * d;
        float[] q = Half.roundBf16(gaussian(r, batch * heads * d, 1));
        float[] k = gaussian(r, batch * ctx * row, 1);
        float[] v = gaussian(r, batch * ctx * row, 1);
        float ks = Fp8Convert.scaleFor(k, Fp8.Format.E4M3);
        float vs = Fp8Convert.scaleFor(v, Fp8.Format.E4M3);
        byte[] kq = new byte[k.length];
        byte[] vq = new byte[v.length];
        float[] kd = new float[k.length];
        float[] vd = new float[v.length];
        for (int i = 0; i < k.length; i++) {
            kq[i] = Fp8.encode(Fp8.Format.E4M3, k[i] / ks);
            vq[i] = Fp8.encode(Fp8.Format.E4M3, v[i] / vs);
            kd[i] = Fp8.decode(Fp8.Format.E4M3, kq[i]) * ks;
            vd[i] = Fp8.decode(Fp8.Format.E4M3, vq[i]) * vs;
        }
        int[] lens = new int[batch];
        java.util.Arrays.fill(lens, ctx);
        // paged: sequence b's block i is pool block (b · maxBlocks + i) reversed
        int maxBlocks = (ctx + bs - 1) / bs;
        int pool = batch * maxBlocks;
        int[] flat = new int[pool];
        byte[] kp = new byte[pool * bs * row];
        byte[] vp = new byte[kp.length];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < maxBlocks; i++) {
                int id = pool - 1 - (b * maxBlocks + i);
                flat[b * maxBlocks + i] = id;
                for (int o = 0; o < bs && i * bs + o < ctx; o++) {
                    System.arraycopy(kq, (b * ctx + i * bs + o) * row, kp, (id * bs + o) * row, row);
                    System.arraycopy(vq, (b * ctx + i * bs + o) * row, vp, (id * bs + o) * row, row);
                }
            }
        }
        float[] ref = DecodeAttentionRef.compute(q, kd, vd, null, lens, batch, heads, kvh, d, ctx, 1);
        DecodeAttention.Shape s = new DecodeAttention.Shape(batch, heads, kvh, d, DecodeAttention.Dtype.BF16_KV_FP8);
        int parts = DecodeAttention.partitions(ctx, partition);
        try (DeviceBuffer dq = gpu.upload("q", Half.toBf16(q)); DeviceBuffer dk = gpu.upload("k", kq); DeviceBuffer dv = gpu.upload("v", vq);
                DeviceBuffer dkp = gpu.upload("kp", kp); DeviceBuffer dvp = gpu.upload("vp", vp); DeviceBuffer bt = gpu.upload("bt", flat);
                DeviceBuffer dl = gpu.upload("lens", lens); DeviceBuffer out = gpu.alloc("out", 2L * batch * heads * d);
                DeviceBuffer ws = gpu.alloc("ws", 4L * DecodeAttention.workspaceFloats(s, parts))) {
            DecodeAttention a = new DecodeAttention(gpu);
            a.run(s, dq, dk, dv, null, 0, 0, dl, ctx, ctx, out, partition, ws, ks, vs);
            Compare c1 = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(out, batch * heads * d)), ref);
            a.run(s, dq, dkp, dvp, bt, maxBlocks, bs, dl, ctx, ctx, out, partition, ws, ks, vs);
            Compare c2 = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(out, batch * heads * d)), ref);
            System.out.println("fp8-KV attention B" + batch + " ctx" + ctx + ": contiguous " + c1 + " | paged " + c2);
            assertTrue(c1.maxRel() <= 1e-2, c1.toString());
            assertTrue(c2.maxRel() <= 1e-2, c2.toString());
        }
    }

}
