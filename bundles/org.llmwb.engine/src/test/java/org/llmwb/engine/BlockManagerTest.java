package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.kv.ContiguousKvManager;
import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.kv.KvSeq;

class BlockManagerTest {
    static List<Integer> toks(int from, int n) {
        return IntStream.range(from, from + n).boxed().toList();
    }

    @Test
    void sharedPrefixesReuseFullBlocksOnly() {
        BlockManager m = new BlockManager(10, 4);
        KvSeq a = new KvSeq(toks(0, 10)); // blocks [0-3][4-7][8,9]
        m.allocate(a);
        m.markComputed(a, a.length());
        assertEquals(7, m.freeBlocks());
        List<Integer> bt = new ArrayList<>(toks(0, 8));
        bt.addAll(List.of(99, 98, 97));
        KvSeq b = new KvSeq(bt); // same first two blocks, different tail
        m.allocate(b);
        assertEquals(8, b.cachedTokens());
        assertArrayEquals(java.util.Arrays.copyOf(a.blockTable(), 2), java.util.Arrays.copyOf(b.blockTable(), 2));
        assertNotEquals(a.blockTable()[2], b.blockTable()[2]);
        assertEquals(2, m.refCount(a.blockTable()[0]));
        assertEquals(6, m.freeBlocks());
        // a different first block breaks the chain: equal later tokens do not hit
        List<Integer> ct = new ArrayList<>(List.of(50, 51, 52, 53));
        ct.addAll(toks(4, 4));
        KvSeq c = new KvSeq(ct);
        m.allocate(c);
        assertEquals(0, c.cachedTokens());
    }

    @Test
    void freedBlocksStayCachedUntilReusedLeastRecentlyFreedFirst() {
        BlockManager m = new BlockManager(4, 2);
        KvSeq a = new KvSeq(toks(0, 4));
        m.allocate(a);
        m.markComputed(a, 4);
        int[] at = a.blockTable();
        m.free(a);
        assertEquals(4, m.freeBlocks());
        assertEquals(2, m.cachedFreeBlocks());
        KvSeq again = new KvSeq(toks(0, 5));
        m.allocate(again); // revives both cached blocks, recomputes nothing but the fifth token
        assertEquals(4, again.cachedTokens());
        assertEquals(at[0], again.blockTable()[0]);
        assertEquals(at[1], again.blockTable()[1]);
        m.free(again);
        // fill the pool with other prompts: cached blocks are evicted, the oldest-freed first
        KvSeq other = new KvSeq(toks(100, 8));
        m.allocate(other);
        m.markComputed(other, 8);
        assertEquals(0, m.cachedFreeBlocks());
        m.free(other);
        KvSeq third = new KvSeq(toks(0, 4));
        m.allocate(third);
        assertEquals(0, third.cachedTokens());
    }

    @Test
    void wholePromptHitStillRecomputesTheLastToken() {
        BlockManager m = new BlockManager(4, 2);
        KvSeq a = new KvSeq(toks(0, 4));
        m.allocate(a);
        m.markComputed(a, 4);
        KvSeq b = new KvSeq(toks(0, 4));
        m.allocate(b);
        assertEquals(3, b.cachedTokens());
        // a's first block missed (and its second was not looked up: after a miss the chain cannot hit); b hit both
        assertEquals(2.0 / 3, m.hitRate(), 1e-9);
    }

    @Test
    void decodingAppendsBlocksAndRegistersFullOnes() {
        BlockManager m = new BlockManager(6, 4);
        KvSeq a = new KvSeq(toks(0, 3));
        m.allocate(a);
        for (int t = 3; t < 9; t++) {
            a.append(t);
            assertTrue(m.canAppend(a));
            assertNull(m.appendSlot(a));
        }
        assertEquals(3, a.blockTable().length);
        m.markComputed(a, a.length());
        // the blocks filled while decoding are now a cached prefix
        KvSeq b = new KvSeq(toks(0, 9));
        m.allocate(b);
        assertEquals(8, b.cachedTokens());
    }

    @Test
    void forkSharesBlocksAndCopiesOnWrite() {
        BlockManager m = new BlockManager(6, 4);
        KvSeq a = new KvSeq(toks(0, 6));
        m.allocate(a);
        KvSeq child = m.fork(a);
        assertEquals(2, m.refCount(a.blockTable()[1]));
        assertEquals(6, m.usage(List.of(a, child)).usedTokens()); // shared blocks count once
        assertEquals(8, m.usage(List.of(a, child)).allocatedSlots());
        child.append(42);
        int[] copy = m.appendSlot(child);
        assertArrayEquals(new int[] {a.blockTable()[1], child.blockTable()[1]}, copy);
        assertEquals(1, m.refCount(a.blockTable()[1]));
        assertEquals(a.blockTable()[0], child.blockTable()[0]);
        m.free(a);
        m.free(child);
        assertEquals(6, m.freeBlocks());
    }

    @Test
    void runningOutIsReportedNotCorrupted() {
        BlockManager m = new BlockManager(2, 4);
        KvSeq a = new KvSeq(toks(0, 8));
        m.allocate(a);
        KvSeq b = new KvSeq(toks(100, 1));
        assertFalse(m.canAllocate(b));
        assertThrows(IllegalStateException.class, () -> m.allocate(b));
        a.append(8);
        assertFalse(m.canAppend(a));
        assertThrows(IllegalStateException.class, () -> m.appendSlot(a));
        KvCacheManager.Usage u = m.usage(List.of(a));
        assertEquals(8, u.allocatedSlots());
    }

    @Test
    void blocksServeHitsOnlyOnceComputedAndNeverWithCachingOff() {
        BlockManager m = new BlockManager(8, 4);
        KvSeq a = new KvSeq(toks(0, 8));
        m.allocate(a);
        KvSeq early = new KvSeq(toks(0, 8)); // a's prefill has not run yet: its blocks hold no KV
        m.allocate(early);
        assertEquals(0, early.cachedTokens());
        m.markComputed(a, 5); // first block written, second not
        KvSeq b = new KvSeq(toks(0, 8));
        m.allocate(b);
        assertEquals(4, b.cachedTokens());
        BlockManager off = new BlockManager(8, 4, false);
        KvSeq c = new KvSeq(toks(0, 8));
        off.allocate(c);
        off.markComputed(c, 8);
        KvSeq d = new KvSeq(toks(0, 8));
        off.allocate(d);
        assertEquals(0, d.cachedTokens());
        assertEquals(0, off.hitRate());
    }

    @Test
    void contiguousReservationsAreFirstFitAndMeasureTheirWaste() {
        ContiguousKvManager m = new ContiguousKvManager(10, 4, 12); // 3 blocks per sequence
        KvSeq a = new KvSeq(toks(0, 5));
        KvSeq b = new KvSeq(toks(0, 2));
        KvSeq c = new KvSeq(toks(0, 1));
        m.allocate(a);
        m.allocate(b);
        m.allocate(c);
        assertArrayEquals(new int[] {0, 1, 2}, a.blockTable());
        assertArrayEquals(new int[] {3, 4, 5}, b.blockTable());
        assertFalse(m.canAllocate(new KvSeq(toks(0, 1)))); // one block left
        m.free(b);
        KvSeq d = new KvSeq(toks(0, 3));
        m.allocate(d);
        assertArrayEquals(new int[] {3, 4, 5}, d.blockTable());
        KvCacheManager.Usage u = m.usage(List.of(a, c, d));
        assertEquals(36, u.allocatedSlots());
        assertEquals(9, u.usedTokens());
        assertEquals(0.75, u.wasteFraction(), 1e-12);
        assertFalse(m.canAllocate(new KvSeq(toks(0, 13))));
        for (int t = 0; t < 7; t++) {
            a.append(t);
            assertNull(m.appendSlot(a));
        }
        a.append(99);
        assertFalse(m.canAppend(a));
    }
}
