package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.DecodeAttention.Dtype;
import org.llmwb.core.numeric.Half;

/**
 * Decode attention (contiguous, paged, split-K; bf16 and fp16) against the double-precision
 * reference over odd shapes: contexts 1, 17, 1000, 4097; batches 1, 3, 19; head dims 64 and 128;
 * GQA groups 1, 4, 8; block sizes 8, 16, 32; sequences of different lengths in one batch.
 * Tolerance: max |err| ≤ 1e-2 (bf16) or 2e-3 (fp16) of the output's largest magnitude — the
 * output is rounded to 8 (bf16) or 11 (fp16) significant bits, FP32 accumulates inside.
 */
class DecodeAttentionGpuTest extends GpuTestBase {

    static Stream<Arguments> shapes() {
        return Stream.of(
                // batch, kvHeads, group, headDim, contexts (cycled over the batch), blockSize, dtype, partition
                Arguments.of(1, 1, 1, 64, new int[] {1}, 16, Dtype.BF16, 0),
                Arguments.of(3, 2, 4, 128, new int[] {17, 1, 1000}, 8, Dtype.BF16, 0),
                Arguments.of(3, 2, 8, 128, new int[] {4097, 17, 1000}, 32, Dtype.BF16, 512),
                Arguments.of(19, 1, 4, 64, new int[] {1000, 17, 1, 4097}, 16, Dtype.BF16, 256),
                Arguments.of(19, 2, 1, 128, new int[] {17, 1000}, 16, Dtype.FP16, 0),
                Arguments.of(3, 2, 8, 64, new int[] {4097, 1000, 1}, 32, Dtype.FP16, 1024),
                Arguments.of(1, 8, 4, 128, new int[] {4097}, 16, Dtype.BF16, 512),
                Arguments.of(1, 4, 2, 128, new int[] {1000}, 8, Dtype.FP16, 128));
    }

    @ParameterizedTest(name = "B{0} KVH{1} G{2} D{3} ctx{4} bs{5} {6} split{7}")
    @MethodSource("shapes")
    void pagedAndContiguousMatchTheReference(int batch, int kvHeads, int group, int headDim, int[] ctxs, int blockSize, Dtype dtype,
            int partition) {
        Random r = new Random(batch * 31L + headDim + group);
        int heads = kvHeads * group;
        int[] context = new int[batch];
        int maxContext = 0;
        for (int b = 0; b < batch; b++) {
            context[b] = ctxs[b % ctxs.length];
            maxContext = Math.max(maxContext, context[b]);
        }
        int row = kvHeads * headDim;
        int maxLen = maxContext;
        // the same values in a contiguous layout and in a shuffled paged pool
        float[] q = round(gaussian(r, batch * heads * headDim, 1), dtype);
        float[] kc = round(gaussian(r, batch * maxLen * row, 1), dtype);
        float[] vc = round(gaussian(r, batch * maxLen * row, 1), dtype);
        int maxBlocks = (maxContext + blockSize - 1) / blockSize;
        int poolBlocks = batch * maxBlocks + 3;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < poolBlocks; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, r);
        int[][] tables = new int[batch][maxBlocks];
        int[] flatTables = new int[batch * maxBlocks];
        float[] kp = new float[poolBlocks * blockSize * row];
        float[] vp = new float[kp.length];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < maxBlocks; i++) {
                int id = ids.get(b * maxBlocks + i);
                tables[b][i] = id;
                flatTables[b * maxBlocks + i] = id;
                for (int o = 0; o < blockSize && i * blockSize + o < maxLen; o++) {
                    int t = i * blockSize + o;
                    System.arraycopy(kc, (b * maxLen + t) * row, kp, (id * blockSize + o) * row, row);
                    System.arraycopy(vc, (b * maxLen + t) * row, vp, (id * blockSize + o) * row, row);
                }
            }
        }
        float[] ref = DecodeAttentionRef.compute(q, kc, vc, null, context, batch, heads, kvHeads, headDim, maxLen, 1);
        DecodeAttention.Shape s = new DecodeAttention.Shape(batch, heads, kvHeads, headDim, dtype);
        DecodeAttention.validatePaged(tables, context, blockSize, poolBlocks);
        DecodeAttention attn = new DecodeAttention(gpu);
        int parts = DecodeAttention.partitions(maxContext, partition);
        try (DeviceBuffer dq = up("q", q, dtype); DeviceBuffer dkc = up("k", kc, dtype); DeviceBuffer dvc = up("v", vc, dtype);
                DeviceBuffer dkp = up("kp", kp, dtype); DeviceBuffer dvp = up("vp", vp, dtype);
                DeviceBuffer dbt = gpu.upload("tables", flatTables); DeviceBuffer dcl = gpu.upload("lens", context);
                DeviceBuffer out = gpu.alloc("out", 2L * batch * heads * headDim);
                DeviceBuffer ws = gpu.alloc("workspace", 4L * DecodeAttention.workspaceFloats(s, parts))) {
            double tol = dtype == Dtype.BF16 ? 1e-2 : 2e-3;
            attn.run(s, dq, dkc, dvc, null, 0, 0, dcl, maxContext, maxLen, out, partition, ws);
            Compare c1 = Compare.of(down(out, batch * heads * headDim, dtype), ref);
            attn.run(s, dq, dkp, dvp, dbt, maxBlocks, blockSize, dcl, maxContext, maxLen, out, partition, ws);
            Compare c2 = Compare.of(down(out, batch * heads * headDim, dtype), ref);
            System.out.printf("decode attention B%d H%d/%d D%d %s split %d: contiguous %s | paged %s%n", batch, heads, kvHeads, headDim, dtype,
                    parts, c1, c2);
            assertTrue(c1.maxRel() <= tol, "contiguous: " + c1);
            assertTrue(c2.maxRel() <= tol, "paged: " + c2);
        }
    }

    static float[] round(float[] a, Dtype t) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = t == Dtype.BF16 ? Half.bf16ToFloat(Half.toBf16(a[i])) : Half.fp16ToFloat(Half.toFp16(a[i]));
        }
        return out;
    }

    static DeviceBuffer up(String what, float[] a, Dtype t) {
        short[] s = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = t == Dtype.BF16 ? Half.toBf16(a[i]) : Half.toFp16(a[i]);
        }
        return gpu.upload(what, s);
    }

    static float[] down(DeviceBuffer b, int n, Dtype t) {
        short[] s = gpu.downloadShorts(b, n);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = t == Dtype.BF16 ? Half.bf16ToFloat(s[i]) : Half.fp16ToFloat(s[i]);
        }
        return a;
    }
}
