package org.llmwb.core.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.InputException;

class CollectivesTest {
    static final double A = 3e-6;
    static final double B = 450e9;

    @Test
    void stepAndByteCountsByHand() {
        // 8 GPUs, 1 MiB: ring all-reduce 14 steps and 2·7/8 MiB; one-shot 1 step and 7 MiB
        double m = 1 << 20;
        Collectives.Cost ring = Collectives.cost("all-reduce", "ring", 8, m, A, B);
        assertEquals(14, ring.steps());
        assertEquals(1.75 * m, ring.linkBytes(), 1e-9);
        assertEquals(14 * A + 1.75 * m / B, ring.seconds(), 1e-15);
        Collectives.Cost one = Collectives.cost("all-reduce", "one-shot", 8, m, A, B);
        assertEquals(1, one.steps());
        assertEquals(7 * m, one.linkBytes(), 1e-9);
        Collectives.Cost two = Collectives.cost("all-reduce", "two-shot", 8, m, A, B);
        assertEquals(2, two.steps());
        assertEquals(1.75 * m, two.linkBytes(), 1e-9);
        Collectives.Cost tree = Collectives.cost("all-reduce", "tree", 8, m, A, B);
        assertEquals(6, tree.steps()); // 2 ⌈log₂ 8⌉
        assertEquals(6 * m, tree.linkBytes(), 1e-9);
        assertEquals(2, Collectives.cost("all-gather", "tree", 3, m, A, B).steps(), "⌈log₂ 3⌉ = 2");
        assertEquals(m, Collectives.cost("broadcast", "ring", 4, m, A, B).linkBytes(), 1e-9);
        assertEquals(0.75 * m, Collectives.cost("all-to-all", "ring", 4, m, A, B).linkBytes(), 1e-9);
    }

    @Test
    void oneShotWinsSmallMessagesAndRingWinsLargeOnes() {
        // crossover of one-shot and ring at 8 GPUs: 13 α = 5.25 M / β  →  M = 13 · 3 µs · 450 GB/s / 5.25 ≈ 3.34 MB
        double cross = 13 * A * B / 5.25;
        assertTrue(Collectives.cost("all-reduce", "one-shot", 8, cross * 0.9, A, B).seconds() < Collectives.cost("all-reduce", "ring", 8, cross * 0.9, A, B).seconds());
        assertTrue(Collectives.cost("all-reduce", "one-shot", 8, cross * 1.1, A, B).seconds() > Collectives.cost("all-reduce", "ring", 8, cross * 1.1, A, B).seconds());
        assertTrue(Collectives.cost("all-reduce", "ring", 8, 4096, A, B).latencyShare() > 0.99, "a 4 KB ring all-reduce is all latency");
    }

    @Test
    void badInputIsRefused() {
        assertTrue(assertThrows(InputException.class, () -> Collectives.cost("all-gather", "two-shot", 8, 1, A, B)).getMessage().contains("two-shot is an all-reduce"));
        assertThrows(InputException.class, () -> Collectives.cost("all-reduce", "ring", 1, 1, A, B));
        assertThrows(InputException.class, () -> Collectives.cost("gather", "ring", 4, 1, A, B));
    }
}
