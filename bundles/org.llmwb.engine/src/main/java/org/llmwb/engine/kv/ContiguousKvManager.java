package org.llmwb.engine.kv;

import java.util.BitSet;

/**
 * The picture before paging: every sequence reserves one contiguous run of slots for the longest it may grow
 * ({@code reserveTokens}, usually the model's maximum length), first fit. Nothing is shared, nothing is
 * cached, and the slots a sequence never fills are the waste a run reports. Block tables still describe the
 * reservation (consecutive block ids), so the same model runner reads it.
 */
public final class ContiguousKvManager implements KvCacheManager {
    private final int blockSize;
    private final int total;
    private final int perSeq;
    private final BitSet used = new BitSet();

    public ContiguousKvManager(int numBlocks, int blockSize, int reserveTokens) {
        if (numBlocks < 1 || blockSize < 1 || reserveTokens < 1) {
            throw new IllegalArgumentException("need at least one block of at least one token and a reservation of at least one token");
        }
        this.blockSize = blockSize;
        this.total = numBlocks;
        this.perSeq = (reserveTokens + blockSize - 1) / blockSize;
        if (perSeq > numBlocks) {
            throw new IllegalArgumentException("one reservation of " + reserveTokens + " tokens needs " + perSeq + " blocks; the pool has " + numBlocks);
        }
    }

    @Override
    public String name() {
        return "contiguous";
    }

    public int reservedTokens() {
        return perSeq * blockSize;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int totalBlocks() {
        return total;
    }

    @Override
    public int freeBlocks() {
        return total - used.cardinality();
    }

    private int firstFit() {
        int start = used.nextClearBit(0);
        while (start + perSeq <= total) {
            int next = used.nextSetBit(start);
            if (next < 0 || next >= start + perSeq) {
                return start;
            }
            start = used.nextClearBit(next);
        }
        return -1;
    }

    @Override
    public int[] blockStates(java.util.List<KvSeq> live) {
        int[] st = KvCacheManager.super.blockStates(live);
        for (int b = used.nextSetBit(0); b >= 0; b = used.nextSetBit(b + 1)) {
            if (st[b] == FREE) {
                st[b] = RESERVED_EMPTY;
            }
        }
        return st;
    }

    @Override
    public boolean canAllocate(KvSeq s) {
        return s.length() <= reservedTokens() && firstFit() >= 0;
    }

    @Override
    public void allocate(KvSeq s) {
        if (!s.table.isEmpty()) {
            throw new IllegalStateException("sequence already has a reservation");
        }
        if (s.length() > reservedTokens()) {
            throw new IllegalStateException(s.length() + " tokens exceed the reservation of " + reservedTokens());
        }
        int start = firstFit();
        if (start < 0) {
            throw new IllegalStateException("no contiguous run of " + perSeq + " free blocks");
        }
        used.set(start, start + perSeq);
        for (int i = 0; i < perSeq; i++) {
            s.table.add(start + i);
        }
        s.cachedTokens = 0;
    }

    @Override
    public void free(KvSeq s) {
        for (int b : s.table) {
            used.clear(b);
        }
        s.table.clear();
    }

    @Override
    public boolean canAppend(KvSeq s) {
        return s.length() <= reservedTokens();
    }

    @Override
    public int[] appendSlot(KvSeq s) {
        if (!canAppend(s)) {
            throw new IllegalStateException("sequence outgrew its reservation of " + reservedTokens() + " tokens");
        }
        return null;
    }

    @Override
    public boolean canReserve(KvSeq s, int extra) {
        return s.length() + extra <= reservedTokens();
    }

    @Override
    public void reserve(KvSeq s, int extra) {
        if (!canReserve(s, extra)) {
            throw new IllegalStateException("sequence would outgrow its reservation of " + reservedTokens() + " tokens");
        }
    }

    @Override
    public void trim(KvSeq s, int tokens) {
        // the reservation is fixed: nothing to give back
    }
}
