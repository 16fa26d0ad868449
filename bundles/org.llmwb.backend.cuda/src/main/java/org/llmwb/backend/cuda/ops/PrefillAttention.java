package org.llmwb.backend.cuda.ops;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launchers of kernels/attention/prefill_attention.cu: causal attention of a batch's new tokens over the paged
 * KV cache (which already holds them). FLOPs = 4·H·D·Σ_b Σ_i (past_b + i + 1) (QKᵀ and PV over the keys each
 * row sees); bytes (compulsory) = Q and O (2·T·H·D·2) + each sequence's K and V read once (2·ctx·KVH·D·2).
 * The naive version also needs {@link #naiveWorkspaceBytes} of fp32 scores.
 */
public final class PrefillAttention implements AutoCloseable {
    public static final String MODULE = "attention/prefill_attention";
    private final Gpu gpu;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int blockSize;
    private final int poolBlocks;
    // the batch last prepared, and its metadata on the GPU (buffers grow, never shrink: no allocation per step)
    private int[] qStart;
    private int[] qLen;
    private int[] past;
    private int[][] tables;
    private int maxBlocks;
    private int tiles;
    private int tiles3;
    private DeviceBuffer dTables;
    private DeviceBuffer dStart;
    private DeviceBuffer dLen;
    private DeviceBuffer dPast;
    private DeviceBuffer dTileSeq;
    private DeviceBuffer dTileRow;
    private DeviceBuffer dTileSeq3;
    private DeviceBuffer dTileRow3;
    private DeviceBuffer[] seqTables = new DeviceBuffer[0];
    private boolean sharedOptIn;
    private boolean shared4OptIn;
    /** prefill_flash4_d128's shared memory: Q 32 KB + 3 stages × (K + V) 64 KB + 1 KB to align the swizzled tiles. */
    public static final int FLASH4_SHARED = 32768 + 3 * 65536 + 1024;

    /** A launcher for one attention shape; {@link #prepare} sets each batch. */
    public PrefillAttention(Gpu gpu, int heads, int kvHeads, int headDim, int blockSize, int poolBlocks) {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("head dim " + headDim + ": the prefill kernels are built for 64 and 128");
        }
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException(heads + " heads are not a multiple of " + kvHeads + " KV heads");
        }
        if (Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size " + blockSize + " is not a power of two");
        }
        this.gpu = gpu;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.poolBlocks = poolBlocks;
    }

    /** A launcher prepared for one batch. */
    public PrefillAttention(Gpu gpu, int heads, int kvHeads, int headDim, int blockSize, int poolBlocks, int[] qLen, int[] past, int[][] tables) {
        this(gpu, heads, kvHeads, headDim, blockSize, poolBlocks);
        prepare(qLen, past, tables);
    }

    /**
     * Sets the batch: checks every table against the pool (a bad table is an exception, not a stray read), lists
     * the query tiles longest first, and writes the metadata into the launcher's device buffers.
     */
    public PrefillAttention prepare(int[] qLen, int[] past, int[][] tables) {
        int b = qLen.length;
        if (past.length != b || tables.length != b || b == 0) {
            throw new IllegalArgumentException("qLen, past and tables need one entry per sequence");
        }
        int[] start = new int[b];
        int mb = 1;
        List<int[]> tileList = new ArrayList<>();
        List<int[]> tileList3 = new ArrayList<>();
        for (int s = 0; s < b; s++) {
            if (qLen[s] < 1 || past[s] < 0) {
                throw new IllegalArgumentException("sequence " + s + ": qLen must be >= 1 and past >= 0");
            }
            start[s] = s == 0 ? 0 : start[s - 1] + qLen[s - 1];
            int need = (past[s] + qLen[s] + blockSize - 1) / blockSize;
            if (tables[s].length < need) {
                throw new IllegalArgumentException("sequence " + s + ": " + tables[s].length + " blocks for " + (past[s] + qLen[s]) + " tokens");
            }
            for (int i = 0; i < need; i++) {
                if (tables[s][i] < 0 || tables[s][i] >= poolBlocks) {
                    throw new IllegalArgumentException("sequence " + s + ": block " + tables[s][i] + " is outside the pool of " + poolBlocks);
                }
            }
            mb = Math.max(mb, need);
            for (int r = 0; r < qLen[s]; r += 64) {
                tileList.add(new int[] {s, r, past[s] + Math.min(qLen[s], r + 64)});
            }
            for (int r = 0; r < qLen[s]; r += 128) {
                tileList3.add(new int[] {s, r, past[s] + Math.min(qLen[s], r + 128)});
            }
        }
        tileList.sort(Comparator.comparingInt((int[] x) -> -x[2])); // the longest causal tiles first
        tileList3.sort(Comparator.comparingInt((int[] x) -> -x[2]));
        this.qStart = start;
        this.qLen = qLen.clone();
        this.past = past.clone();
        this.tables = tables;
        maxBlocks = mb;
        tiles = tileList.size();
        tiles3 = tileList3.size();
        dTables = write(dTables, "prefill block tables", DecodeAttention.flatTables(tables, b, mb));
        dStart = write(dStart, "prefill qStart", start);
        dLen = write(dLen, "prefill qLen", this.qLen);
        dPast = write(dPast, "prefill past", this.past);
        dTileSeq = write(dTileSeq, "prefill tiles", tileList.stream().mapToInt(x -> x[0]).toArray());
        dTileRow = write(dTileRow, "prefill tile rows", tileList.stream().mapToInt(x -> x[1]).toArray());
        dTileSeq3 = write(dTileSeq3, "prefill tiles v3", tileList3.stream().mapToInt(x -> x[0]).toArray());
        dTileRow3 = write(dTileRow3, "prefill tile rows v3", tileList3.stream().mapToInt(x -> x[1]).toArray());
        closeSeqTables();
        seqTables = new DeviceBuffer[b];
        return this;
    }

    /** Writes {@code a} into {@code b}, replacing it by a larger buffer (twice the need) only when it is too small. */
    private DeviceBuffer write(DeviceBuffer b, String what, int[] a) {
        if (b == null || b.bytes() < 4L * a.length) {
            if (b != null) {
                b.close();
            }
            b = gpu.alloc(what, 8L * Math.max(1, a.length));
        }
        gpu.write(b, a);
        return b;
    }

    private void closeSeqTables() {
        for (DeviceBuffer d : seqTables) {
            if (d != null) {
                d.close();
            }
        }
    }

    public int tokens() {
        return qStart[qStart.length - 1] + qLen[qLen.length - 1];
    }

    public double flops() {
        double rows = 0;
        for (int s = 0; s < qLen.length; s++) {
            rows += (double) qLen[s] * past[s] + (double) qLen[s] * (qLen[s] + 1) / 2;
        }
        return 4.0 * heads * headDim * rows;
    }

    public double bytes() {
        double ctx = 0;
        for (int s = 0; s < qLen.length; s++) {
            ctx += past[s] + qLen[s];
        }
        return 4.0 * tokens() * heads * headDim + 4.0 * ctx * kvHeads * headDim;
    }

    /** The fp32 score matrix the naive version materialises for the largest sequence: H · n · (past + n) · 4 bytes. */
    public long naiveWorkspaceBytes() {
        long m = 0;
        for (int s = 0; s < qLen.length; s++) {
            m = Math.max(m, 4L * heads * qLen[s] * (past[s] + qLen[s]));
        }
        return m;
    }

    private float scale() {
        return (float) (1 / Math.sqrt(headDim));
    }

    private void checkBuffers(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc) {
        if (qStart == null) {
            throw new IllegalStateException("prepare a batch before launching");
        }
        long rowBytes = 2L * heads * headDim;
        if (q.bytes() < tokens() * rowBytes || out.bytes() < tokens() * rowBytes) {
            throw new IllegalArgumentException("q/out hold fewer than " + tokens() + " tokens");
        }
        if (kc.bytes() < 2L * blockSize * kvHeads * headDim) {
            throw new IllegalArgumentException("the KV cache is smaller than one block");
        }
    }

    /** v2: tiled flash attention on tensor cores, no n² buffer. */
    public void flash(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc, DeviceBuffer vc) {
        checkBuffers(q, out, kc);
        gpu.launch(gpu.function(MODULE, "prefill_flash_d" + headDim), tiles, heads, 1, 128, 0, q.param(), out.param(), kc.param(), vc.param(),
                dTables.param(), ints(maxBlocks), ints(Integer.numberOfTrailingZeros(blockSize)), ints(heads), ints(kvHeads), dStart.param(),
                dLen.param(), dPast.param(), dTileSeq.param(), dTileRow.param(), Pointer.to(new float[] {(float) (scale() / Math.log(2))}));
    }

    /** v3: 128 rows per CTA, double-buffered cp.async K/V tiles (69.6 KB of shared memory at D 128). */
    public void flash3(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc, DeviceBuffer vc) {
        checkBuffers(q, out, kc);
        int shared = 2 * 2 * 64 * (headDim + 8) * 2;
        jcuda.driver.CUfunction f = gpu.function(MODULE, "prefill_flash3_d" + headDim);
        if (!sharedOptIn) {
            gpu.allowDynamicShared(f, shared);
            sharedOptIn = true;
        }
        gpu.launch(f, tiles3, heads, 1, 256, shared, q.param(), out.param(), kc.param(), vc.param(), dTables.param(), ints(maxBlocks),
                ints(Integer.numberOfTrailingZeros(blockSize)), ints(heads), ints(kvHeads), dStart.param(), dLen.param(), dPast.param(), dTileSeq3.param(),
                dTileRow3.param(), Pointer.to(new float[] {(float) (scale() / Math.log(2))}));
    }

    /** Whether {@link #flash4} runs here: an sm_90 GPU (its fatbin carries sm_90a code) and head dim 128. */
    public boolean hasFlash4() {
        return headDim == 128 && gpu.device().hasWgmma();
    }

    /**
     * v4: Hopper wgmma, 128 rows per CTA in two warpgroups, S and O on warpgroup MMAs from swizzled shared memory,
     * 128-key K/V tiles through a 3-stage cp.async ring (225 KB of shared memory). Head dim 128 on sm_90 only.
     *
     * @throws UnsupportedOperationException where {@link #hasFlash4} is false
     */
    public void flash4(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc, DeviceBuffer vc) {
        if (!hasFlash4()) {
            throw new UnsupportedOperationException("flash v4 needs head dim 128 on an sm_90 GPU (head dim " + headDim + ", sm_" + gpu.device().computeMajor()
                    + gpu.device().computeMinor() + "); use flash3");
        }
        checkBuffers(q, out, kc);
        jcuda.driver.CUfunction f = gpu.function(MODULE, "prefill_flash4_d128");
        if (!shared4OptIn) {
            gpu.allowDynamicShared(f, FLASH4_SHARED);
            shared4OptIn = true;
        }
        if (tiles3 > 65535) {
            throw new IllegalArgumentException(tiles3 + " tiles of 128 rows: flash v4 launches at most 65535 (split the batch)");
        }
        gpu.launch(f, heads, tiles3, 1, 256, FLASH4_SHARED, q.param(), out.param(), kc.param(), vc.param(), dTables.param(), ints(maxBlocks),
                ints(Integer.numberOfTrailingZeros(blockSize)), ints(heads), ints(kvHeads), dStart.param(), dLen.param(), dPast.param(), dTileSeq3.param(),
                dTileRow3.param(), Pointer.to(new float[] {(float) (scale() / Math.log(2))}));
    }

    /** The fastest flash kernel here: v4 on sm_90 at head dim 128, v3 otherwise. */
    public void best(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc, DeviceBuffer vc) {
        if (hasFlash4()) {
            flash4(q, out, kc, vc);
        } else {
            flash3(q, out, kc, vc);
        }
    }

    /** v1: scores, softmax and PV as three kernels per sequence through {@code workspace} (at least {@link #naiveWorkspaceBytes}). */
    public void naive(DeviceBuffer q, DeviceBuffer out, DeviceBuffer kc, DeviceBuffer vc, DeviceBuffer workspace) {
        checkBuffers(q, out, kc);
        if (workspace.bytes() < naiveWorkspaceBytes()) {
            throw new IllegalArgumentException("the naive prefill needs " + naiveWorkspaceBytes() + " bytes of workspace");
        }
        int shift = Integer.numberOfTrailingZeros(blockSize);
        long row = 2L * heads * headDim;
        for (int s = 0; s < qLen.length; s++) {
            if (seqTables[s] == null) {
                seqTables[s] = gpu.upload("prefill table " + s, tables[s]);
            }
            int n = qLen[s];
            int ctx = past[s] + n;
            Pointer qs = Pointer.to(q.at(qStart[s] * row));
            Pointer os = Pointer.to(out.at(qStart[s] * row));
            gpu.launch(gpu.function(MODULE, "prefill_naive_scores"), (ctx + 127) / 128, n, heads, 128, 0, qs, kc.param(), seqTables[s].param(), ints(shift),
                    ints(heads), ints(kvHeads), ints(headDim), ints(n), ints(past[s]), Pointer.to(new float[] {scale()}), workspace.param());
            gpu.launch(gpu.function(MODULE, "prefill_naive_softmax"), n, heads, 1, 256, 0, workspace.param(), ints(n), ints(ctx));
            gpu.launch(gpu.function(MODULE, "prefill_naive_pv"), n, heads, 1, headDim, 0, workspace.param(), vc.param(), seqTables[s].param(), ints(shift),
                    ints(heads), ints(kvHeads), ints(headDim), ints(n), ints(past[s]), os);
        }
    }

    private static Pointer ints(int v) {
        return Pointer.to(new int[] {v});
    }

    @Override
    public void close() {
        for (DeviceBuffer d : new DeviceBuffer[] {dTables, dStart, dLen, dPast, dTileSeq, dTileRow, dTileSeq3, dTileRow3}) {
            if (d != null) {
                d.close();
            }
        }
        closeSeqTables();
    }
}
