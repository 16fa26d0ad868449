package org.llmwb.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The block manager's running counters (cached-free blocks; filled slots in {@link BlockManager#usage}) against a
 * recount from scratch after every operation of a random mix of allocations with shared prefixes, appends, partial
 * prefills, trims and frees.
 */
class BlockManagerCountersTest {
    @Test
    void countersEqualARecountAfterEveryOperation() {
        SplittableRandom r = new SplittableRandom(11);
        BlockManager bm = new BlockManager(96, 4, true);
        List<List<Integer>> prefixes = List.of(List.of(1, 2, 3, 4, 5, 6, 7, 8), List.of(9, 9, 9, 9), List.of(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8));
        List<KvSeq> live = new ArrayList<>();
        for (int op = 0; op < 4000; op++) {
            int kind = r.nextInt(10);
            if (kind < 4) {
                List<Integer> prompt = new ArrayList<>(prefixes.get(r.nextInt(prefixes.size())));
                for (int i = r.nextInt(9); i > 0; i--) {
                    prompt.add(r.nextInt(20));
                }
                KvSeq s = new KvSeq(prompt);
                if (bm.canAllocate(s)) {
                    bm.allocate(s);
                    bm.markComputed(s, r.nextBoolean() ? s.length() : r.nextInt(s.length() + 1));
                    live.add(s);
                }
            } else if (kind < 7 && !live.isEmpty()) {
                KvSeq s = live.get(r.nextInt(live.size()));
                s.append(r.nextInt(20));
                if (bm.canAppend(s)) {
                    bm.appendSlot(s);
                    bm.markComputed(s, s.length());
                } else {
                    bm.free(s);
                    live.remove(s);
                }
            } else if (kind < 8 && !live.isEmpty()) {
                KvSeq s = live.get(r.nextInt(live.size()));
                bm.trim(s, Math.max(1, s.blocks() * 4 - 1 - r.nextInt(4)));
            } else if (!live.isEmpty()) {
                KvSeq s = live.remove(r.nextInt(live.size()));
                bm.free(s);
            }
            assertEquals(bm.cachedFreeBlocksByScan(), bm.cachedFreeBlocks(), "cached-free blocks after operation " + op);
            Map<Integer, Integer> filled = new HashMap<>();
            for (KvSeq s : live) {
                int[] t = s.blockTable();
                for (int i = 0; i < t.length; i++) {
                    filled.merge(t[i], Math.max(0, Math.min(4, s.length() - i * 4)), Math::max);
                }
            }
            long tokens = filled.values().stream().mapToLong(Integer::longValue).sum();
            assertEquals(tokens, bm.usage(live).usedTokens(), "used slots after operation " + op);
        }
    }
}
