package org.llmwb.core.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AttentionIoTest {
    static final double L2 = 50 * (1 << 20);

    @Test
    void countsByHand() {
        // N = 1024, d = 64, BF16: naive reads/writes (4·65,536 + 4·1,048,576)·2 bytes and keeps one 2 MiB score matrix
        AttentionIo.Cost naive = AttentionIo.cost("naive", 1024, 64, 2, true, L2);
        assertEquals((4.0 * 65536 + 4.0 * 1048576) * 2, naive.bytes());
        assertEquals(4.0 * 1048576 * 64, naive.flops());
        assertEquals(1048576.0 * 2, naive.extraBytes());
        // naive intensity tends to 4·N²·d / (4·N²·e) = d/e FLOP/B as N grows (64 for d = 128 in BF16): below an H100's ridge
        assertEquals(64.0, AttentionIo.cost("naive", 1 << 20, 128, 2, true, L2).intensity(), 0.1);
        AttentionIo.Cost flash = AttentionIo.cost("flash", 1024, 64, 2, true, L2);
        assertTrue(flash.kvInL2());
        assertEquals(4.0 * 65536 * 2, flash.bytes());
        assertEquals(2.0 * 1048576 * 64, flash.flops(), "causal: half the products");
        assertEquals(4096.0, flash.extraBytes());
    }

    @Test
    void kvThatDoesNotFitInL2IsReReadPerQueryTile() {
        // N = 262,144, d = 128: K and V of one head are 128 MiB, more than 50 MiB of L2 → 2,048 passes
        AttentionIo.Cost f = AttentionIo.cost("flash", 262144, 128, 2, false, L2);
        assertFalse(f.kvInL2());
        double nd = 262144.0 * 128;
        assertEquals((2 * nd + 2048 * 2 * nd) * 2, f.bytes());
    }
}
