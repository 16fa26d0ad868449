package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.PrefillAttentionRef;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.Gemm;
import org.llmwb.backend.cuda.ops.PrefillAttention;
import org.llmwb.core.numeric.Half;

/**
 * Prefill attention (naive and flash) over a variable-length batch read from a shuffled paged cache, and the
 * tensor-core GEMM, against the double references, over odd shapes. Tolerances: 2e-2 of the output scale for
 * attention (flash rounds P to bf16 before P·V, as FlashAttention does), 1e-2 for the GEMM (bf16 output).
 */
class PrefillAndGemmGpuTest extends GpuTestBase {

    @ParameterizedTest(name = "H{0}/KVH{1} D{2} block {3}")
    @CsvSource({"8, 2, 128, 16", "4, 4, 64, 32", "8, 1, 64, 8", "32, 8, 128, 16"})
    void naiveAndFlashMatchTheReferenceOnAVariableLengthBatch(int heads, int kvHeads, int d, int blockSize) {
        // (past, new) per sequence: single tokens, partial tiles, exact tiles, chunks after a cached prefix
        int[][] seqs = {{0, 1}, {0, 17}, {5, 64}, {37, 100}, {0, 130}, {200, 3}, {300, 260}};
        Random r = new Random(heads * 31L + d + blockSize);
        int b = seqs.length;
        int[] past = new int[b];
        int[] qLen = new int[b];
        int totalBlocks = 0;
        for (int s = 0; s < b; s++) {
            past[s] = seqs[s][0];
            qLen[s] = seqs[s][1];
            totalBlocks += (past[s] + qLen[s] + blockSize - 1) / blockSize;
        }
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < totalBlocks + 3; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, r); // blocks scattered over the pool, as a real block manager leaves them
        int pool = totalBlocks + 3;
        int row = kvHeads * d;
        float[] kPool = new float[pool * blockSize * row];
        float[] vPool = new float[pool * blockSize * row];
        int[][] tables = new int[b][];
        List<float[]> qs = new ArrayList<>();
        List<float[]> refs = new ArrayList<>();
        int next = 0;
        int tokens = 0;
        for (int s = 0; s < b; s++) {
            int ctx = past[s] + qLen[s];
            tables[s] = new int[(ctx + blockSize - 1) / blockSize];
            for (int i = 0; i < tables[s].length; i++) {
                tables[s][i] = ids.get(next++);
            }
            float[] k = Half.roundBf16(gaussian(r, ctx * row, 1));
            float[] v = Half.roundBf16(gaussian(r, ctx * row, 1));
            for (int j = 0; j < ctx; j++) {
                int slot = tables[s][j / blockSize] * blockSize + j % blockSize;
                System.arraycopy(k, j * row, kPool, slot * row, row);
                System.arraycopy(v, j * row, vPool, slot * row, row);
            }
            float[] q = Half.roundBf16(gaussian(r, qLen[s] * heads * d, 1));
            qs.add(q);
            refs.add(PrefillAttentionRef.compute(q, k, v, past[s], qLen[s], heads, kvHeads, d));
            tokens += qLen[s];
        }
        float[] qAll = new float[tokens * heads * d];
        float[] ref = new float[tokens * heads * d];
        int at = 0;
        for (int s = 0; s < b; s++) {
            System.arraycopy(qs.get(s), 0, qAll, at, qs.get(s).length);
            System.arraycopy(refs.get(s), 0, ref, at, refs.get(s).length);
            at += qs.get(s).length;
        }
        try (PrefillAttention pa = new PrefillAttention(gpu, heads, kvHeads, d, blockSize, pool, qLen, past, tables);
                DeviceBuffer dq = gpu.upload("q", Half.toBf16(qAll)); DeviceBuffer dout = gpu.alloc("out", 2L * qAll.length);
                DeviceBuffer dk = gpu.upload("k", Half.toBf16(kPool)); DeviceBuffer dv = gpu.upload("v", Half.toBf16(vPool));
                DeviceBuffer ws = gpu.alloc("scores", pa.naiveWorkspaceBytes())) {
            gpu.memset(dout, (byte) 0);
            pa.naive(dq, dout, dk, dv, ws);
            check("naive", Half.bf16ToFloat(gpu.downloadShorts(dout, qAll.length)), ref, 2e-2);
            gpu.memset(dout, (byte) 0);
            pa.flash(dq, dout, dk, dv);
            check("flash", Half.bf16ToFloat(gpu.downloadShorts(dout, qAll.length)), ref, 2e-2);
            gpu.memset(dout, (byte) 0);
            pa.flash3(dq, dout, dk, dv);
            check("flash3", Half.bf16ToFloat(gpu.downloadShorts(dout, qAll.length)), ref, 2e-2);
            if (pa.hasFlash4()) {
                gpu.memset(dout, (byte) 0);
                pa.flash4(dq, dout, dk, dv);
                check("flash4 wgmma", Half.bf16ToFloat(gpu.downloadShorts(dout, qAll.length)), ref, 2e-2);
            } else {
                assertThrows(UnsupportedOperationException.class, () -> pa.flash4(dq, dout, dk, dv));
            }
            assertThrows(IllegalArgumentException.class, () -> new PrefillAttention(gpu, heads, kvHeads, d, blockSize, 2, qLen, past, tables));
        }
    }

    @ParameterizedTest(name = "M{0} N{1} K{2}")
    @CsvSource({"1, 8, 8", "17, 72, 40", "130, 136, 1000", "257, 1032, 264", "128, 128, 4096", "300, 256, 24", "1300, 520, 136"})
    void gemmMatchesTheReference(int m, int n, int k) {
        Random r = new Random(m * 131L + n * 7L + k);
        float[] a = Half.roundBf16(gaussian(r, m * k, 1));
        float[] w = Half.roundBf16(gaussian(r, n * k, 0.05));
        float[] ref = GemvRef.compute((i, j) -> w[i * k + j], a, m, n, k);
        try (DeviceBuffer da = gpu.upload("a", Half.toBf16(a)); DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dc = gpu.alloc("c", 2L * m * n)) {
            gpu.memset(dc, (byte) 0);
            Gemm g = new Gemm(gpu);
            g.bf16(da, dw, dc, m, n, k);
            check("gemm v1", Half.bf16ToFloat(gpu.downloadShorts(dc, m * n)), ref, 1e-2);
            gpu.memset(dc, (byte) 0);
            g.bf16v2(da, dw, dc, m, n, k);
            check("gemm v2", Half.bf16ToFloat(gpu.downloadShorts(dc, m * n)), ref, 1e-2);
            if (g.hasWgmma()) {
                gpu.memset(dc, (byte) 0);
                g.bf16Wgmma(da, dw, dc, m, n, k);
                check("gemm v3 wgmma", Half.bf16ToFloat(gpu.downloadShorts(dc, m * n)), ref, 1e-2);
            } else {
                assertThrows(UnsupportedOperationException.class, () -> g.bf16Wgmma(da, dw, dc, m, n, k));
            }
        }
    }

    @Test
    void gemmRejectsShapesItCannotServe() {
        assertThrows(IllegalArgumentException.class, () -> Gemm.validate(4, 12, 64));
        assertThrows(IllegalArgumentException.class, () -> Gemm.validate(0, 64, 64));
    }

    private static void check(String what, float[] got, float[] ref, double tol) {
        Compare c = Compare.of(got, ref);
        System.out.println(what + ": " + c);
        assertTrue(c.maxRel() <= tol, what + ": " + c);
    }
}
