package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/** Launchers of kernels/layers/layers.cu (bf16 tensors; shapes and indices checked before any launch). */
public final class Layers {
    public static final String MODULE = "layers/layers";
    private final Gpu gpu;

    public Layers(Gpu gpu) {
        this.gpu = gpu;
    }

    public void rmsnorm(DeviceBuffer x, DeviceBuffer w, DeviceBuffer y, int rows, int dim, float eps) {
        require(rows > 0 && dim > 0 && x.bytes() >= 2L * rows * dim && w.bytes() >= 2L * dim && y.bytes() >= 2L * rows * dim, "rmsnorm shapes");
        gpu.launch(gpu.function(MODULE, "rmsnorm_bf16"), rows, 1, 1, 256, 0, x.param(), w.param(), y.param(), Pointer.to(new int[] {dim}),
                Pointer.to(new float[] {eps}));
    }

    /** In-place RoPE on x [tokens, heads, headDim]; invFreq holds headDim/2 floats. */
    public void rope(DeviceBuffer x, DeviceBuffer positions, DeviceBuffer invFreq, int tokens, int heads, int headDim) {
        require(headDim % 2 == 0 && tokens > 0 && x.bytes() >= 2L * tokens * heads * headDim && invFreq.bytes() >= 2L * headDim, "rope shapes");
        gpu.launch(gpu.function(MODULE, "rope_bf16"), tokens, 1, 1, 128, 0, x.param(), positions.param(), invFreq.param(),
                Pointer.to(new int[] {heads}), Pointer.to(new int[] {headDim}));
    }

    /**
     * RoPE and the KV-cache write after a fused Q/K/V projection, one launch: qkv [tokens, (hq + 2·hkv)·headDim] →
     * rotated Q into q [tokens, hq, headDim], rotated K and V into the paged caches at each token's slot (−1 writes
     * nothing). Same numerics as {@link #rope} followed by the paged KV write.
     */
    public void ropeQkvPaged(DeviceBuffer qkv, DeviceBuffer positions, DeviceBuffer invFreq, DeviceBuffer q, DeviceBuffer kCache, DeviceBuffer vCache,
            DeviceBuffer slots, int tokens, int hq, int hkv, int headDim) {
        require(headDim % 2 == 0 && headDim <= 256 && tokens > 0 && hq > 0 && hkv > 0 && qkv.bytes() >= 2L * tokens * (hq + 2L * hkv) * headDim
                && q.bytes() >= 2L * tokens * hq * headDim && invFreq.bytes() >= 2L * headDim && positions.bytes() >= 4L * tokens
                && slots.bytes() >= 4L * tokens && kCache.bytes() == vCache.bytes() && kCache.bytes() % (2L * hkv * headDim) == 0, "rope_qkv shapes");
        gpu.launch(gpu.function(MODULE, "rope_qkv_paged_bf16"), tokens, (hq + hkv + 7) / 8, 1, 256, 0, qkv.param(), positions.param(), invFreq.param(),
                q.param(), kCache.param(), vCache.param(), slots.param(), Pointer.to(new int[] {hq}), Pointer.to(new int[] {hkv}),
                Pointer.to(new int[] {headDim}));
    }

    /**
     * In place on the fused projection qkv [tokens, (hq + 2·hkv)·headDim], before RoPE: adds {@code bias} [(hq + 2·hkv)·headDim]
     * (null: none), then RMS-normalizes each Q head with {@code qNorm} [headDim] and each K head with {@code kNorm} (null: none).
     */
    public void qkvBiasNorm(DeviceBuffer qkv, DeviceBuffer bias, DeviceBuffer qNorm, DeviceBuffer kNorm, int tokens, int hq, int hkv, int headDim, float eps) {
        long width = (long) (hq + 2 * hkv) * headDim;
        require(tokens > 0 && hq > 0 && hkv > 0 && headDim % 2 == 0 && headDim <= 256 && qkv.bytes() >= 2L * tokens * width
                && (bias == null || bias.bytes() >= 2L * width) && (qNorm == null) == (kNorm == null)
                && (qNorm == null || qNorm.bytes() >= 2L * headDim && kNorm.bytes() >= 2L * headDim), "qkv_bias_norm shapes");
        gpu.launch(gpu.function(MODULE, "qkv_bias_norm_bf16"), tokens, (hq + 2 * hkv + 3) / 4, 1, 128, 0, qkv.param(), param(bias), param(qNorm),
                param(kNorm), Pointer.to(new int[] {hq}), Pointer.to(new int[] {hkv}), Pointer.to(new int[] {headDim}), Pointer.to(new float[] {eps}));
    }

    /** x[t, i] += bias[i] over x [tokens, dim]. */
    public void addRowBias(DeviceBuffer x, DeviceBuffer bias, long tokens, int dim) {
        require(tokens > 0 && dim > 0 && x.bytes() >= 2L * tokens * dim && bias.bytes() >= 2L * dim, "add_row_bias shapes");
        int grid = (int) Math.max(1, Math.min((tokens * dim + 255) / 256, gpu.device().multiprocessors() * 8L));
        gpu.launch(gpu.function(MODULE, "add_row_bias_bf16"), grid, 1, 1, 256, 0, x.param(), bias.param(), Pointer.to(new long[] {tokens}),
                Pointer.to(new int[] {dim}));
    }

    /**
     * Greedy tokens on the GPU: out[i] = argmax of row rows[i] of the bf16 logits [*, stride] over its first
     * {@code vocab} columns (lowest index on ties, NaN never wins).
     */
    public void argmaxRows(DeviceBuffer logits, DeviceBuffer rows, DeviceBuffer out, int n, int vocab, int stride, int maxRow) {
        require(n > 0 && vocab > 0 && stride >= vocab && maxRow >= 0 && logits.bytes() >= 2L * (maxRow + 1) * stride && rows.bytes() >= 4L * n
                && out.bytes() >= 4L * n, "argmax_rows shapes");
        gpu.launch(gpu.function(MODULE, "argmax_rows_bf16"), n, 1, 1, 512, 0, logits.param(), rows.param(), out.param(), Pointer.to(new int[] {vocab}),
                Pointer.to(new int[] {stride}));
    }

    private static Pointer param(DeviceBuffer b) {
        return b == null ? Pointer.to(new long[] {0}) : b.param();
    }

    public void siluMul(DeviceBuffer gateUp, DeviceBuffer out, long tokens, int inter) {
        require(gateUp.bytes() >= 4L * tokens * inter && out.bytes() >= 2L * tokens * inter, "silu_mul shapes");
        int grid = (int) Math.max(1, Math.min((tokens * inter + 255) / 256, gpu.device().multiprocessors() * 16L));
        gpu.launch(gpu.function(MODULE, "silu_mul_bf16"), grid, 1, 1, 256, 0, gateUp.param(), out.param(), Pointer.to(new long[] {tokens}),
                Pointer.to(new int[] {inter}));
    }

    /** Gathers rows of the table; every id must be inside the vocabulary. */
    public void embedding(DeviceBuffer table, int vocab, int dim, int[] ids, DeviceBuffer idsOnGpu, DeviceBuffer out) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + " is outside the vocabulary of " + vocab);
            }
        }
        require(table.bytes() >= 2L * vocab * dim && out.bytes() >= 2L * ids.length * dim, "embedding shapes");
        gpu.launch(gpu.function(MODULE, "embedding_bf16"), ids.length, 1, 1, 256, 0, table.param(), idsOnGpu.param(), out.param(),
                Pointer.to(new int[] {dim}));
    }

    /** x += y over n bf16 values (the residual add). */
    public void add(DeviceBuffer x, DeviceBuffer y, long n) {
        require(n > 0 && x.bytes() >= 2L * n && y.bytes() >= 2L * n, "add shapes");
        int grid = (int) Math.max(1, Math.min((n / 8 + 255) / 256, gpu.device().multiprocessors() * 8L));
        gpu.launch(gpu.function(MODULE, "add_bf16"), grid, 1, 1, 256, 0, x.param(), y.param(), Pointer.to(new long[] {n}));
    }

    public void argmax(DeviceBuffer logits, DeviceBuffer out, int rows, int vocab) {
        require(logits.bytes() >= 4L * rows * vocab && out.bytes() >= 4L * rows, "argmax shapes");
        gpu.launch(gpu.function(MODULE, "argmax_f32"), rows, 1, 1, 1024, 0, logits.param(), out.param(), Pointer.to(new int[] {vocab}));
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what + " do not match the buffers");
        }
    }
}
