package org.llmwb.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.Gemv;

/** Bad shapes are rejected in Java before any launch; these need no GPU and run in CI. */
class ValidationTest {

    @Test
    void probeNeverThrowsAndExplainsItself() {
        CudaProbe.Result r = CudaProbe.probe();
        assertTrue(r.available() || (r.reason() != null && !r.reason().isBlank()), r.toString());
        System.out.println("CUDA probe: " + r);
    }

    @Test
    void decodeAttentionShapes() {
        var bad = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.validate(new DecodeAttention.Shape(1, 32, 8, 96, DecodeAttention.Dtype.BF16)));
        assertTrue(bad.getMessage().contains("head dim 96"));
        assertThrows(IllegalArgumentException.class, () -> DecodeAttention.validate(new DecodeAttention.Shape(1, 12, 4, 128, DecodeAttention.Dtype.BF16)));
        assertThrows(IllegalArgumentException.class, () -> DecodeAttention.validate(new DecodeAttention.Shape(1, 32, 3, 128, DecodeAttention.Dtype.BF16)));
        DecodeAttention.validate(new DecodeAttention.Shape(19, 32, 8, 64, DecodeAttention.Dtype.FP16));
        var past = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.validatePaged(new int[][] {{0, 1}, {2, 7}}, new int[] {20, 17}, 16, 4));
        assertTrue(past.getMessage().contains("points at block 7, past the pool of 4"), past.getMessage());
        var short_ = assertThrows(IllegalArgumentException.class, () -> DecodeAttention.validatePaged(new int[][] {{0}}, new int[] {17}, 16, 4));
        assertTrue(short_.getMessage().contains("needs 2 blocks"));
        assertEquals(8, DecodeAttention.partitions(4096, 512));
        assertEquals(1, DecodeAttention.partitions(4096, 0));
    }

    @Test
    void gemvShapesAndCounts() {
        assertThrows(IllegalArgumentException.class, () -> Gemv.validate(Gemv.Format.W4A16, 1, 10, 200));
        assertThrows(IllegalArgumentException.class, () -> Gemv.validate(Gemv.Format.BF16, 17, 10, 64));
        assertThrows(IllegalArgumentException.class, () -> Gemv.validate(Gemv.Format.W8A16, 1, 10, 24));
        Gemv.validate(Gemv.Format.W4A16, 16, 19, 384);
        // 4096 → 14336 at batch 1: 2·N·K FLOPs; int4 bytes = N·K/2 + 4·N·K/128 (float scales) + 2·(K + N)
        assertEquals(2.0 * 4096 * 14336, Gemv.flops(1, 14336, 4096));
        assertEquals(14336.0 * 4096 / 2 + 4.0 * 14336 * 32 + 2.0 * (4096 + 14336), Gemv.bytes(Gemv.Format.W4A16, 1, 14336, 4096, false));
    }

    /** The split-K GEMV's plans for the 1B decode shapes on a 132-SM GPU, and where they give up. */
    @Test
    void splitKPlans() {
        // o projection N 2048, K 2048: 32 row groups, K in 8 slices of 8 chunks (256 k) → 256 CTAs
        assertEquals(new Gemv.SkPlan(32, 8, 8), Gemv.skPlan(2048, 2048, false, 264));
        // down projection K 8192: at most 32 chunks a slice (the staged x̂ must fit shared memory) → 9 slices of 29
        assertEquals(new Gemv.SkPlan(32, 9, 29), Gemv.skPlan(2048, 8192, false, 264));
        // gate/up (SwiGLU, N = 2 × 8192): 32 output columns a CTA → 256 groups, 2 slices (shared memory bound)
        assertEquals(new Gemv.SkPlan(256, 2, 32), Gemv.skPlan(16384, 2048, true, 264));
        // one chunk: one slice, one group
        assertEquals(new Gemv.SkPlan(1, 1, 1), Gemv.skPlan(10, 8, false, 264));
        // every plan covers K exactly: split · slice ≥ chunks > (split − 1) · slice
        for (int k : new int[] {8, 520, 1000, 2056, 8192, 14336}) {
            Gemv.SkPlan p = Gemv.skPlan(3000, k, false, 264);
            int chunks = (k + 31) / 32;
            assertTrue(p.split() * p.slice() >= chunks && (p.split() - 1) * p.slice() < chunks, k + ": " + p);
            assertTrue(p.slice() <= 32 && p.sharedBytes(4) <= 227 * 1024, k + ": " + p);
        }
        // a 128K-vocabulary LM head would need more CTAs than the workspace holds: null (v2 runs it)
        assertNull(Gemv.skPlan(128256, 2048, false, 264));
        // the wgmma GEMV (17-32 rows): 64-wide K tiles, at least 2 a CTA, never more split CTAs than the workspace holds
        assertEquals(new Gemv.SkPlan(32, 8, 4), Gemv.wgPlan(2048, 2048, 264));
        assertEquals(new Gemv.SkPlan(256, 2, 16), Gemv.wgPlan(16384, 2048, 264));
        assertEquals(new Gemv.SkPlan(1, 1, 1), Gemv.wgPlan(33, 16, 264));
        assertEquals(new Gemv.SkPlan(2004, 1, 32), Gemv.wgPlan(128256, 2048, 264));
    }

    @Test
    void kvMovesRejectRacingDestinations() {
        org.llmwb.backend.cuda.ops.KvCacheOps.checkDestinations(new int[] {0, 1, 2, 3}, 1, 2, true);
        org.llmwb.backend.cuda.ops.KvCacheOps.checkDestinations(new int[] {4, 3, 1}, 0, 1, false);
        assertThrows(IllegalArgumentException.class, () -> org.llmwb.backend.cuda.ops.KvCacheOps.checkDestinations(new int[] {0, 4, 1, 4}, 1, 2, true));
        var both = assertThrows(IllegalArgumentException.class,
                () -> org.llmwb.backend.cuda.ops.KvCacheOps.checkDestinations(new int[] {0, 1, 1, 2}, 1, 2, true));
        assertTrue(both.getMessage().contains("both copied from and copied to"), both.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> org.llmwb.backend.cuda.ops.KvCacheOps.checkDestinations(new int[] {3, 1, 3}, 0, 1, false)).getMessage().contains("twice"));
    }
}
