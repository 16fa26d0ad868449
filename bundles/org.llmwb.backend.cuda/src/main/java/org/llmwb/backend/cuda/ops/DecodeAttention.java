package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launcher of kernels/attention/decode_attention.cu. Shapes are validated here (head dim, GQA group,
 * block tables inside the pool, context within the table) before any launch.
 *
 * <p>FLOPs and bytes (for the roofline): FLOPs = 4 · Σ_b ctx_b · H · D (QKᵀ and PV, 2 each per
 * multiply-add); bytes = Σ_b ctx_b · 2 · KVH · D · elementBytes (K and V read once) + 2 · B · H · D ·
 * elementBytes (q in, out). Block tables, lengths and split-K partials are not counted (they are
 * small next to the cache and, for the partials, an overhead of the method, not of the op).
 */
public final class DecodeAttention {
    public static final String MODULE = "attention/decode_attention";
    private final Gpu gpu;

    /** Query/output and KV types: bf16, fp16, or bf16 queries over an FP8 E4M3 KV cache (per-tensor K and V scales). */
    public enum Dtype {
        BF16("bf16", 2), FP16("f16", 2), BF16_KV_FP8("bf16_kvfp8", 1);

        final String kernel;
        final int kvBytes;

        Dtype(String kernel, int kvBytes) {
            this.kernel = kernel;
            this.kvBytes = kvBytes;
        }

        public int kvBytes() {
            return kvBytes;
        }
    }

    /** The shape of one decode attention call. */
    public record Shape(int batch, int heads, int kvHeads, int headDim, Dtype dtype) {
        public int group() {
            return heads / kvHeads;
        }
    }

    public DecodeAttention(Gpu gpu) {
        this.gpu = gpu;
    }

    public static void validate(Shape s) {
        if (s.headDim() != 64 && s.headDim() != 128) {
            throw new IllegalArgumentException("head dim " + s.headDim() + " is not supported (64 or 128)");
        }
        if (s.kvHeads() <= 0 || s.heads() % s.kvHeads() != 0) {
            throw new IllegalArgumentException(s.heads() + " query heads are not a multiple of " + s.kvHeads() + " KV heads");
        }
        int g = s.group();
        if (g != 1 && g != 2 && g != 4 && g != 8) {
            throw new IllegalArgumentException("GQA group " + g + " is not supported (1, 2, 4, 8)");
        }
    }

    /** Paged tables: every block id a sequence uses must exist in the pool, and the table must cover the context. */
    public static void validatePaged(int[][] blockTables, int[] contextLens, int blockSize, int poolBlocks) {
        if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size " + blockSize + " must be a power of two (8, 16, 32, ...)");
        }
        for (int b = 0; b < contextLens.length; b++) {
            int need = (contextLens[b] + blockSize - 1) / blockSize;
            if (contextLens[b] < 1) {
                throw new IllegalArgumentException("sequence " + b + " has context " + contextLens[b] + " (must be >= 1)");
            }
            if (need > blockTables[b].length) {
                throw new IllegalArgumentException("sequence " + b + " needs " + need + " blocks but its table has " + blockTables[b].length);
            }
            for (int i = 0; i < need; i++) {
                int id = blockTables[b][i];
                if (id < 0 || id >= poolBlocks) {
                    throw new IllegalArgumentException("block table of sequence " + b + " points at block " + id + ", past the pool of " + poolBlocks);
                }
            }
        }
    }

    public static double flops(Shape s, int[] contextLens) {
        double tokens = 0;
        for (int c : contextLens) {
            tokens += c;
        }
        return 4.0 * tokens * s.heads() * s.headDim();
    }

    public static double bytes(Shape s, int[] contextLens) {
        double tokens = 0;
        for (int c : contextLens) {
            tokens += c;
        }
        return tokens * 2.0 * s.kvHeads() * s.headDim() * s.dtype().kvBytes() + 2.0 * s.batch() * s.heads() * s.headDim() * 2;
    }

    /** Block tables as one [rows, stride] int array (rows past the tables, and the tail of each row, stay 0). */
    public static int[] flatTables(int[][] tables, int rows, int stride) {
        int[] flat = new int[rows * stride];
        for (int s = 0; s < tables.length; s++) {
            System.arraycopy(tables[s], 0, flat, s * stride, Math.min(stride, tables[s].length));
        }
        return flat;
    }

    /** Number of split-K partitions for a context and partition size (1 = single pass). */
    public static int partitions(int maxContext, int partitionSize) {
        return partitionSize <= 0 ? 1 : Math.max(1, (maxContext + partitionSize - 1) / partitionSize);
    }

    /**
     * Runs decode attention.
     *
     * @param blockTables device int32 [B, maxBlocks], or null for a contiguous cache [B, maxLen, KVH, D]
     * @param partitionSize tokens per split-K partition, or 0 for the single-pass kernel
     * @param workspace float workspace of at least {@link #workspaceFloats} floats when split, else null
     */
    public void run(Shape s, DeviceBuffer q, DeviceBuffer kCache, DeviceBuffer vCache, DeviceBuffer blockTables, int maxBlocks, int blockSize,
            DeviceBuffer contextLens, int maxContext, int maxLen, DeviceBuffer out, int partitionSize, DeviceBuffer workspace) {
        run(s, q, kCache, vCache, blockTables, maxBlocks, blockSize, contextLens, maxContext, maxLen, out, partitionSize, workspace, 1f, 1f);
    }

    /** As above, with the per-tensor scales of an FP8 KV cache (value = code × scale). */
    public void run(Shape s, DeviceBuffer q, DeviceBuffer kCache, DeviceBuffer vCache, DeviceBuffer blockTables, int maxBlocks, int blockSize,
            DeviceBuffer contextLens, int maxContext, int maxLen, DeviceBuffer out, int partitionSize, DeviceBuffer workspace, float kScale,
            float vScale) {
        validate(s);
        int p = partitions(maxContext, partitionSize);
        int ps = p == 1 ? Integer.MAX_VALUE / 2 : partitionSize;
        String t = s.dtype() == Dtype.FP16 ? "f16" : "bf16";
        String name = "decode_attn_" + s.dtype().kernel + "_d" + s.headDim() + "_g" + s.group() + (blockTables == null ? "_contig" : "_paged");
        long heads = (long) s.batch() * s.heads();
        Pointer pm = Pointer.to(new long[] {0});
        Pointer pl = pm;
        Pointer pacc = pm;
        if (p > 1) {
            if (workspace == null || workspace.bytes() < 4L * workspaceFloats(s, p)) {
                throw new IllegalArgumentException("split-K over " + p + " partitions needs a workspace of " + workspaceFloats(s, p) + " floats");
            }
            pm = Pointer.to(workspace.ptr());
            pl = Pointer.to(workspace.at(4L * heads * p));
            pacc = Pointer.to(workspace.at(8L * heads * p));
        }
        Pointer bt = blockTables == null ? Pointer.to(new long[] {0}) : blockTables.param();
        if (blockTables != null && Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size " + blockSize + " must be a power of two");
        }
        int blockShift = blockTables == null ? 0 : Integer.numberOfTrailingZeros(blockSize);
        gpu.launch(gpu.function(MODULE, name), s.batch(), s.kvHeads(), p, 128, 0, q.param(), kCache.param(), vCache.param(), bt,
                contextLens.param(), out.param(), pm, pl, pacc, Pointer.to(new int[] {s.heads()}), Pointer.to(new int[] {s.kvHeads()}),
                Pointer.to(new int[] {maxLen}), Pointer.to(new int[] {blockShift}), Pointer.to(new int[] {maxBlocks}), Pointer.to(new int[] {ps}),
                Pointer.to(new float[] {(float) (1.0 / Math.sqrt(s.headDim()))}), Pointer.to(new float[] {kScale}),
                Pointer.to(new float[] {vScale}));
        if (p > 1) {
            gpu.launch(gpu.function(MODULE, "decode_attn_reduce_" + t), s.batch(), s.heads(), 1, s.headDim(), 0, pm, pl, pacc, out.param(),
                    Pointer.to(new int[] {p}), Pointer.to(new int[] {s.headDim()}));
        }
    }

    /** Floats the split-K workspace needs: max and sum per (head, partition) and D accumulators each. */
    public static long workspaceFloats(Shape s, int partitions) {
        long hp = (long) s.batch() * s.heads() * partitions;
        return hp * 2 + hp * s.headDim();
    }
}
