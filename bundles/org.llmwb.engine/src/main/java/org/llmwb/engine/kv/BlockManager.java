package org.llmwb.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The paged KV pool's bookkeeping (after nano-vllm's BlockManager, with copy-on-write added): fixed-size
 * blocks, per-sequence block tables, reference counts, and prefix caching by chained content hashes — a full
 * block's key is the hash of its tokens and of the previous block's key, so two prompts share a block exactly
 * when they share everything up to its end. Freed blocks keep their contents and key and are reused least
 * recently freed first; a cache hit revives such a block without recomputing it.
 */
public final class BlockManager implements KvCacheManager {
    private static final class Block {
        final int id;
        int refs;
        long hash = -1;
        int[] tokens;
        /** Whether the block's KV has been written (only computed blocks may serve a cache hit). */
        boolean computed;

        Block(int id) {
            this.id = id;
        }
    }

    private final int blockSize;
    private final Block[] blocks;
    private final Map<Long, Integer> byHash = new HashMap<>();
    /** Free blocks, least recently freed first (those with a cached key are revived on a hit). */
    private final LinkedHashSet<Integer> free = new LinkedHashSet<>();
    /** Free blocks holding a cached prefix (hash set); a free block's hash never changes while it is free. */
    private int cachedFree;
    private final boolean prefixCaching;
    private long hits;
    private long lookups;

    public BlockManager(int numBlocks, int blockSize) {
        this(numBlocks, blockSize, true);
    }

    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        this.prefixCaching = prefixCaching;
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("need at least one block of at least one token");
        }
        this.blockSize = blockSize;
        blocks = new Block[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new Block(i);
            free.add(i);
        }
    }

    @Override
    public String name() {
        return prefixCaching ? "paged+prefix" : "paged";
    }

    public boolean prefixCaching() {
        return prefixCaching;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int freeBlocks() {
        return free.size();
    }

    @Override
    public int totalBlocks() {
        return blocks.length;
    }

    /** Free blocks that still hold a cached prefix (reusable by a hit, evicted last-freed-last). */
    @Override
    public int cachedFreeBlocks() {
        return cachedFree;
    }

    /** {@link #cachedFreeBlocks} counted over the free list (what the counter must equal; for tests). */
    int cachedFreeBlocksByScan() {
        return (int) free.stream().filter(i -> blocks[i].hash != -1).count();
    }

    /** A block's refs fell to 0: it joins the free list (cached-free when it still holds a prefix). */
    private void release(Block b) {
        free.add(b.id);
        if (b.hash != -1) {
            cachedFree++;
        }
    }

    @Override
    public int[] blockStates(java.util.List<KvSeq> live) {
        int[] st = new int[blocks.length];
        for (Block b : blocks) {
            st[b.id] = b.refs > 0 ? b.refs : b.hash != -1 ? CACHED_FREE : FREE;
        }
        return st;
    }

    public int refCount(int block) {
        return blocks[block].refs;
    }

    /** Prefix-cache hit rate over full blocks looked up so far. */
    @Override
    public double hitRate() {
        return lookups == 0 ? 0 : (double) hits / lookups;
    }

    static long chain(long prev, int[] tokens) {
        long h = prev * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        for (int t : tokens) {
            h = (h ^ t) * 0xFF51AFD7ED558CCDL;
            h ^= h >>> 33;
        }
        return h == -1 ? 0 : h;
    }

    private int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Whether the sequence's prompt fits now (counting every block as new: a hit only makes it cheaper). */
    @Override
    public boolean canAllocate(KvSeq s) {
        return free.size() >= blocksFor(s.length());
    }

    /** Gives the sequence a block table for its tokens, reusing cached full blocks of an identical prefix. */
    @Override
    public void allocate(KvSeq s) {
        if (!s.table.isEmpty()) {
            throw new IllegalStateException("sequence already has blocks");
        }
        if (!canAllocate(s)) {
            throw new IllegalStateException("not enough free blocks: need " + blocksFor(s.length()) + ", have " + free.size());
        }
        long prev = -1;
        boolean missed = false;
        s.cachedTokens = 0;
        for (int i = 0; i < blocksFor(s.length()); i++) {
            int from = i * blockSize;
            int[] toks = s.tokens.subList(from, Math.min(from + blockSize, s.length())).stream().mapToInt(Integer::intValue).toArray();
            boolean full = toks.length == blockSize;
            long h = full ? chain(prev, toks) : -1;
            Integer hit = null;
            if (full && !missed && prefixCaching) {
                lookups++;
                Integer c = byHash.get(h);
                if (c != null && blocks[c].computed && Arrays.equals(blocks[c].tokens, toks)) {
                    hit = c;
                    hits++;
                }
            }
            Block b;
            if (hit != null) {
                b = blocks[hit];
                if (b.refs == 0) {
                    free.remove(b.id);
                    cachedFree--; // a hit: it holds a prefix
                }
                b.refs++;
                s.cachedTokens += blockSize;
            } else {
                missed = true; // after a miss the chain differs: later blocks cannot hit
                b = take();
                if (full && prefixCaching && !byHash.containsKey(h)) {
                    register(b, h, toks);
                }
            }
            s.table.add(b.id);
            prev = h;
        }
        if (s.cachedTokens == s.length()) {
            s.cachedTokens -= 1; // the last token is always recomputed: its logits are needed
        }
    }

    private Block take() {
        var it = free.iterator();
        int id = it.next();
        it.remove();
        Block b = blocks[id];
        if (b.hash != -1) {
            cachedFree--;
        }
        if (b.hash != -1 && java.util.Objects.equals(byHash.get(b.hash), id)) {
            byHash.remove(b.hash); // evict the cached prefix this block held
        }
        b.hash = -1;
        b.tokens = null;
        b.computed = false;
        b.refs = 1;
        return b;
    }

    private void unregister(Block b) {
        if (byHash.get(b.hash) != null && byHash.get(b.hash) == b.id) {
            byHash.remove(b.hash);
        }
        b.hash = -1;
        b.tokens = null;
    }

    private void register(Block b, long h, int[] toks) {
        b.hash = h;
        b.tokens = toks;
        byHash.put(h, b.id);
    }

    /** Releases the sequence's blocks (last first, so a prefix's tail is evicted before its head). */
    @Override
    public void free(KvSeq s) {
        for (int i = s.table.size() - 1; i >= 0; i--) {
            Block b = blocks[s.table.get(i)];
            if (--b.refs == 0) {
                if (!b.computed && b.hash != -1) {
                    unregister(b); // it never got its KV: let a block that will be written hold the key
                }
                release(b);
            }
        }
        s.table.clear();
        s.cachedTokens = 0;
    }

    /**
     * Whether {@link #appendSlot} can place the sequence's newest token (already appended): it needs a free block
     * when the token starts a new block or its last block is shared.
     */
    @Override
    public boolean canAppend(KvSeq s) {
        boolean needsBlock = blocksFor(s.length()) > s.table.size() || blocks[s.table.get(s.table.size() - 1)].refs > 1;
        return !needsBlock || !free.isEmpty();
    }

    /**
     * Makes room for the sequence's newest token (already appended to {@code s}): a new block when it starts
     * one; a private copy when its last block is shared (copy-on-write), returned as {src, dst} for the pool
     * to copy, else null. When the token fills its block, the block's key is registered for prefix caching.
     */
    @Override
    public int[] appendSlot(KvSeq s) {
        int n = s.length();
        int[] copy = null;
        if (blocksFor(n) > s.table.size()) {
            if (free.isEmpty()) {
                throw new IllegalStateException("no free block for the next token");
            }
            s.table.add(take().id);
        } else {
            Block last = blocks[s.table.get(s.table.size() - 1)];
            if (last.refs > 1) {
                if (free.isEmpty()) {
                    throw new IllegalStateException("no free block to copy a shared block into");
                }
                Block mine = take();
                last.refs--;
                s.table.set(s.table.size() - 1, mine.id);
                copy = new int[] {last.id, mine.id};
            }
        }
        if (n % blockSize == 0) {
            Block last = blocks[s.table.get(s.table.size() - 1)];
            long prev = s.table.size() >= 2 ? blocks[s.table.get(s.table.size() - 2)].hash : -1;
            int[] toks = s.tokens.subList(n - blockSize, n).stream().mapToInt(Integer::intValue).toArray();
            if (prefixCaching && (s.table.size() < 2 || prev != -1)) {
                long h = chain(prev, toks);
                if (!byHash.containsKey(h)) {
                    register(last, h, toks);
                }
            }
        }
        return copy;
    }

    @Override
    public boolean canReserve(KvSeq s, int extra) {
        return free.size() >= blocksFor(s.length() + extra) - s.table.size();
    }

    /** New private blocks for the extra positions; the last block is private already (the newest token's slot was made first). */
    @Override
    public void reserve(KvSeq s, int extra) {
        if (!canReserve(s, extra)) {
            throw new IllegalStateException("not enough free blocks for " + extra + " draft positions");
        }
        while (s.table.size() < blocksFor(s.length() + extra)) {
            Block b = take();
            s.table.add(b.id);
        }
    }

    @Override
    public void trim(KvSeq s, int tokens) {
        int keep = blocksFor(tokens);
        while (s.table.size() > keep) {
            Block b = blocks[s.table.remove(s.table.size() - 1)];
            if (--b.refs == 0) {
                if (b.hash != -1) {
                    unregister(b);
                }
                release(b);
            }
        }
        if (!prefixCaching) {
            return;
        }
        long prev = -1;
        for (int i = 0; i < Math.min(tokens / blockSize, s.table.size()); i++) {
            Block b = blocks[s.table.get(i)];
            if (b.hash == -1) {
                if (i > 0 && prev == -1) {
                    return; // the chain is broken above: later blocks cannot be keyed
                }
                int[] toks = s.tokens.subList(i * blockSize, (i + 1) * blockSize).stream().mapToInt(Integer::intValue).toArray();
                long h = chain(prev, toks);
                if (byHash.containsKey(h)) {
                    return;
                }
                register(b, h, toks);
            }
            prev = b.hash;
        }
    }

    /** A second sequence sharing all of {@code parent}'s blocks (e.g. parallel sampling); its first write copies. */
    public KvSeq fork(KvSeq parent) {
        KvSeq child = new KvSeq(parent.tokens);
        for (int id : parent.table) {
            blocks[id].refs++;
            child.table.add(id);
        }
        return child;
    }

    /**
     * Counts each used block once, however many sequences share it: the slots it holds are allocated, the
     * ones some sequence's tokens fill are used.
     */
    @Override
    public Usage usage(java.util.List<KvSeq> live) {
        // the most any sharing sequence fills of each block, in a scratch array reset as it is summed
        if (filledScratch == null) {
            filledScratch = new int[blocks.length];
        }
        int[] filled = filledScratch;
        long tokens = 0;
        for (KvSeq s : live) {
            for (int i = 0; i < s.table.size(); i++) {
                int n = Math.max(0, Math.min(blockSize, s.length() - i * blockSize));
                int id = s.table.get(i);
                if (n > filled[id]) {
                    tokens += n - filled[id];
                    filled[id] = n;
                }
            }
        }
        for (KvSeq s : live) {
            for (int i = 0; i < s.table.size(); i++) {
                filled[s.table.get(i)] = 0;
            }
        }
        int used = blocks.length - free.size();
        return new Usage(used, (long) used * blockSize, tokens);
    }

    private int[] filledScratch;

    @Override
    public void markComputed(KvSeq s, int tokens) {
        int full = Math.min(tokens / blockSize, s.table.size());
        for (int i = 0; i < full; i++) {
            blocks[s.table.get(i)].computed = true;
        }
    }
}
