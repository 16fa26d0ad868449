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
    private final int[] qStart;
    private final int[] qLen;
    private final int[] past;
    private final int[][] tables;
    private final int maxBlocks;
    private final int tiles;
    private final DeviceBuffer dTables;
    private final DeviceBuffer dStart;
    private final DeviceBuffer dLen;
    private final DeviceBuffer dPast;
    private final DeviceBuffer dTileSeq;
    private final DeviceBuffer dTileRow;
    private final DeviceBuffer[] seqTables;
    private final int tiles3;
    private final DeviceBuffer dTileSeq3;
    private final DeviceBuffer dTileRow3;
    private boolean sharedOptIn;

    /** Uploads a batch's metadata once (checked here, so a bad table is an exception, not a stray read). */
    public PrefillAttention(Gpu gpu, int heads, int kvHeads, int headDim, int blockSize, int poolBlocks, int[] qLen, int[] past, int[][] tables) {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("head dim " + headDim + ": the prefill kernels are built for 64 and 128");
        }
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException(heads + " heads are not a multiple of " + kvHeads + " KV heads");
        }
        if (Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size " + blockSize + " is not a power of two");
        }
        int b = qLen.length;
        if (past.length != b || tables.length != b || b == 0) {
            throw new IllegalArgumentException("qLen, past and tables need one entry per sequence");
        }
        this.gpu = gpu;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.qLen = qLen.clone();
        this.past = past.clone();
        this.tables = tables;
        qStart = new int[b];
        int mb = 1;
        List<int[]> tileList = new ArrayList<>();
        List<int[]> tileList3 = new ArrayList<>();
        for (int s = 0; s < b; s++) {
            if (qLen[s] < 1 || past[s] < 0) {
                throw new IllegalArgumentException("sequence " + s + ": qLen must be >= 1 and past >= 0");
            }
            qStart[s] = s == 0 ? 0 : qStart[s - 1] + qLen[s - 1];
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
        maxBlocks = mb;
        tiles = tileList.size();
        int[] flat = new int[b * mb];
        for (int s = 0; s < b; s++) {
            System.arraycopy(tables[s], 0, flat, s * mb, Math.min(mb, tables[s].length));
        }
        dTables = gpu.upload("prefill block tables", flat);
        dStart = gpu.upload("prefill qStart", qStart);
        dLen = gpu.upload("prefill qLen", this.qLen);
        dPast = gpu.upload("prefill past", this.past);
        dTileSeq = gpu.upload("prefill tiles", tileList.stream().mapToInt(x -> x[0]).toArray());
        dTileRow = gpu.upload("prefill tile rows", tileList.stream().mapToInt(x -> x[1]).toArray());
        seqTables = new DeviceBuffer[b];
        tiles3 = tileList3.size();
        dTileSeq3 = gpu.upload("prefill tiles v3", tileList3.stream().mapToInt(x -> x[0]).toArray());
        dTileRow3 = gpu.upload("prefill tile rows v3", tileList3.stream().mapToInt(x -> x[1]).toArray());
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
            d.close();
        }
        for (DeviceBuffer d : seqTables) {
            if (d != null) {
                d.close();
            }
        }
    }
}
