package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launchers of kernels/kvcache/kv_cache.cu. A "row" is one token's K (or V) for all KV heads,
 * {@code rowBytes = kvHeads × headDim × elementBytes}, which must be a multiple of 16. Indices are
 * checked against the pool here, before any launch, so a bad slot or block id is an exception,
 * never a stray write on the GPU.
 */
public final class KvCacheOps {
    public static final String MODULE = "kvcache/kv_cache";
    private static final int THREADS = 128;
    private final Gpu gpu;

    public KvCacheOps(Gpu gpu) {
        this.gpu = gpu;
    }

    static void checkRow(long rowBytes) {
        if (rowBytes <= 0 || rowBytes % 16 != 0) {
            throw new IllegalArgumentException("row of " + rowBytes + " bytes: kvHeads × headDim × elementBytes must be a positive multiple of 16");
        }
    }

    /** Writes tokens into a paged cache; {@code slots[t]} = block × blockSize + offset, or −1 to skip. */
    public void writePaged(DeviceBuffer kNew, DeviceBuffer vNew, DeviceBuffer kCache, DeviceBuffer vCache, int[] slots, DeviceBuffer slotsOnGpu,
            long rowBytes) {
        checkRow(rowBytes);
        long poolRows = kCache.bytes() / rowBytes;
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] < -1 || slots[i] >= poolRows) {
                throw new IllegalArgumentException("slot " + slots[i] + " of token " + i + " is outside the pool of " + poolRows + " slots");
            }
        }
        if (slots.length * rowBytes > kNew.bytes()) {
            throw new IllegalArgumentException(slots.length + " tokens do not fit the new-K buffer");
        }
        gpu.launch(gpu.function(MODULE, "kv_write_paged"), slots.length, 1, 1, THREADS, 0, kNew.param(), vNew.param(), kCache.param(),
                vCache.param(), slotsOnGpu.param(), Pointer.to(new int[] {(int) (rowBytes / 16)}));
    }

    /** Appends tokens to a contiguous cache [seqs, maxLen, row] at (seq[t], pos[t]). */
    public void appendContiguous(DeviceBuffer kNew, DeviceBuffer vNew, DeviceBuffer kCache, DeviceBuffer vCache, int[] seq, int[] pos,
            DeviceBuffer seqOnGpu, DeviceBuffer posOnGpu, int maxLen, long rowBytes) {
        checkRow(rowBytes);
        long seqs = kCache.bytes() / rowBytes / maxLen;
        for (int i = 0; i < seq.length; i++) {
            if (seq[i] < 0 || seq[i] >= seqs || pos[i] < 0 || pos[i] >= maxLen) {
                throw new IllegalArgumentException("token " + i + " at (seq " + seq[i] + ", pos " + pos[i] + ") is outside " + seqs + " × " + maxLen);
            }
        }
        gpu.launch(gpu.function(MODULE, "kv_append_contiguous"), seq.length, 1, 1, THREADS, 0, kNew.param(), vNew.param(), kCache.param(),
                vCache.param(), seqOnGpu.param(), posOnGpu.param(), Pointer.to(new int[] {maxLen}), Pointer.to(new int[] {(int) (rowBytes / 16)}));
    }

    /** Copies blocks: pairs = {src0, dst0, src1, dst1, ...}. */
    public void copyBlocks(DeviceBuffer kCache, DeviceBuffer vCache, int[] pairs, DeviceBuffer pairsOnGpu, long blockBytes) {
        checkRow(blockBytes);
        checkBlocks(pairs, kCache.bytes() / blockBytes);
        checkDestinations(pairs, 1, 2, true);
        gpu.launch(gpu.function(MODULE, "kv_copy_blocks"), pairs.length / 2, 1, 1, THREADS, 0, kCache.param(), vCache.param(),
                pairsOnGpu.param(), Pointer.to(new long[] {blockBytes / 16}));
    }

    public void gather(DeviceBuffer cache, DeviceBuffer staging, int[] blocks, DeviceBuffer blocksOnGpu, long blockBytes) {
        checkRow(blockBytes);
        checkBlocks(blocks, cache.bytes() / blockBytes);
        if (blocks.length * blockBytes > staging.bytes()) {
            throw new IllegalArgumentException("staging buffer too small for " + blocks.length + " blocks");
        }
        gpu.launch(gpu.function(MODULE, "kv_gather_blocks"), blocks.length, 1, 1, THREADS, 0, cache.param(), staging.param(),
                blocksOnGpu.param(), Pointer.to(new long[] {blockBytes / 16}));
    }

    /**
     * Gathers {@code blocks} of every cache whose address is in {@code caches} (see {@link Gpu#uploadPointers}) in one
     * launch: staging holds cache c's blocks at [c·n, (c+1)·n) in order.
     */
    public void gatherLayers(DeviceBuffer caches, int count, long cacheBytes, DeviceBuffer staging, int[] blocks, DeviceBuffer blocksOnGpu, long blockBytes) {
        checkRow(blockBytes);
        checkBlocks(blocks, cacheBytes / blockBytes);
        if ((long) count * blocks.length * blockBytes > staging.bytes()) {
            throw new IllegalArgumentException("staging buffer too small for " + count + " × " + blocks.length + " blocks");
        }
        gpu.launch(gpu.function(MODULE, "kv_gather_layers"), blocks.length, count, 1, THREADS, 0, caches.param(), staging.param(), blocksOnGpu.param(),
                Pointer.to(new int[] {blocks.length}), Pointer.to(new long[] {blockBytes / 16}));
    }

    /** The inverse of {@link #gatherLayers}; {@code staging} may be another GPU's memory when peer access is on. */
    public void scatterLayers(DeviceBuffer staging, DeviceBuffer caches, int count, long cacheBytes, int[] blocks, DeviceBuffer blocksOnGpu, long blockBytes) {
        checkRow(blockBytes);
        checkBlocks(blocks, cacheBytes / blockBytes);
        checkDestinations(blocks, 0, 1, false);
        if ((long) count * blocks.length * blockBytes > staging.bytes()) {
            throw new IllegalArgumentException("staging buffer too small for " + count + " × " + blocks.length + " blocks");
        }
        gpu.launch(gpu.function(MODULE, "kv_scatter_layers"), blocks.length, count, 1, THREADS, 0, staging.param(), caches.param(), blocksOnGpu.param(),
                Pointer.to(new int[] {blocks.length}), Pointer.to(new long[] {blockBytes / 16}));
    }

    public void scatter(DeviceBuffer staging, DeviceBuffer cache, int[] blocks, DeviceBuffer blocksOnGpu, long blockBytes) {
        checkRow(blockBytes);
        checkBlocks(blocks, cache.bytes() / blockBytes);
        checkDestinations(blocks, 0, 1, false);
        gpu.launch(gpu.function(MODULE, "kv_scatter_blocks"), blocks.length, 1, 1, THREADS, 0, staging.param(), cache.param(),
                blocksOnGpu.param(), Pointer.to(new long[] {blockBytes / 16}));
    }

    /**
     * Destinations must be distinct (two CTAs writing one block race), and for block copies no block may be
     * both a source and a destination (the result would depend on CTA order).
     */
    public static void checkDestinations(int[] ids, int first, int step, boolean pairs) {
        java.util.Set<Integer> dst = new java.util.HashSet<>();
        for (int i = first; i < ids.length; i += step) {
            if (!dst.add(ids[i])) {
                throw new IllegalArgumentException("block " + ids[i] + " is a destination twice: the writes would race");
            }
        }
        if (pairs) {
            for (int i = 0; i < ids.length; i += 2) {
                if (dst.contains(ids[i])) {
                    throw new IllegalArgumentException("block " + ids[i] + " is both copied from and copied to in one call");
                }
            }
        }
    }

    private static void checkBlocks(int[] ids, long poolBlocks) {
        for (int id : ids) {
            if (id < 0 || id >= poolBlocks) {
                throw new IllegalArgumentException("block " + id + " is outside the pool of " + poolBlocks + " blocks");
            }
        }
    }
}
