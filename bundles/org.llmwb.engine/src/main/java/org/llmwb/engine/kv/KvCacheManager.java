package org.llmwb.engine.kv;

import java.util.List;

/**
 * Bookkeeping of a KV pool of {@link #totalBlocks()} blocks of {@link #blockSize()} token slots: which blocks
 * each sequence's tokens live in. The scheduler asks it whether a prompt or the next token fits; the model
 * runner only sees the resulting block tables. Two implementations: {@link BlockManager} (paged, blocks on
 * demand, prefix caching) and {@link ContiguousKvManager} (one contiguous max-length reservation per sequence,
 * the picture before paging).
 */
public interface KvCacheManager {
    String name();

    int blockSize();

    int totalBlocks();

    int freeBlocks();

    /** Free blocks that still hold a reusable cached prefix. */
    default int cachedFreeBlocks() {
        return 0;
    }

    /** Prefix-cache hit rate over the full blocks looked up so far (0 without prefix caching). */
    default double hitRate() {
        return 0;
    }

    boolean canAllocate(KvSeq s);

    /** Gives the sequence a block table covering its current tokens; sets {@link KvSeq#cachedTokens()}. */
    void allocate(KvSeq s);

    void free(KvSeq s);

    /** Whether the newest token (already appended to {@code s}) can get a slot. */
    boolean canAppend(KvSeq s);

    /** Makes room for the newest token; returns {src, dst} when a shared block must be copied first, else null. */
    int[] appendSlot(KvSeq s);

    /**
     * Whether {@link #reserve} can give the sequence slots for {@code extra} positions past its tokens
     * (speculative decoding's draft tokens), without preempting anyone.
     */
    boolean canReserve(KvSeq s, int extra);

    /**
     * Extends the sequence's block table to cover {@code extra} positions past its current tokens. The slots
     * hold no tokens yet: draft tokens are written there by the verify step and only the accepted ones become
     * the sequence's tokens; {@link #trim} gives back what the rejected ones held.
     */
    void reserve(KvSeq s, int extra);

    /**
     * Shrinks the sequence's block table to the blocks its first {@code tokens} tokens need (after a
     * speculative step, the rejected drafts' blocks), and registers full blocks that tokens added without
     * {@link #appendSlot} filled, so prefix caching still sees them.
     */
    void trim(KvSeq s, int tokens);

    /** Tells the manager that the KV of the sequence's first {@code tokens} tokens is now in the pool. */
    default void markComputed(KvSeq s, int tokens) {
    }

    /** Blocks in use, slots they hold, and tokens the live sequences actually store: the measured waste. */
    record Usage(int usedBlocks, long allocatedSlots, long usedTokens) {
        public double wasteFraction() {
            return allocatedSlots == 0 ? 0 : 1 - (double) usedTokens / allocatedSlots;
        }
    }

    default Usage usage(List<KvSeq> live) {
        int used = totalBlocks() - freeBlocks();
        long tokens = 0;
        for (KvSeq s : live) {
            tokens += Math.min(s.length(), (long) s.blocks() * blockSize());
        }
        return new Usage(used, (long) used * blockSize(), tokens);
    }

    /** State of a block in {@link #blockStates}: free. */
    int FREE = 0;
    /** Free, but still holding a cached prefix that a hit can revive. */
    int CACHED_FREE = -1;
    /** Reserved for a sequence (contiguous reservation) but holding none of its tokens yet: the waste paging removes. */
    int RESERVED_EMPTY = -2;

    /**
     * One entry per block: the number of live sequences whose tokens it holds (1, or more when a
     * prefix block is shared), or {@link #FREE}, {@link #CACHED_FREE}, {@link #RESERVED_EMPTY}. The
     * KV Cache view draws this map.
     */
    default int[] blockStates(List<KvSeq> live) {
        int[] st = new int[totalBlocks()];
        for (KvSeq s : live) {
            int[] t = s.blockTable();
            int n = Math.min(t.length, (s.length() + blockSize() - 1) / blockSize());
            for (int i = 0; i < n; i++) {
                st[t[i]]++;
            }
        }
        return st;
    }
}
