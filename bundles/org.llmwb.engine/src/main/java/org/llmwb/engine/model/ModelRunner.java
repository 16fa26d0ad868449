package org.llmwb.engine.model;

import java.util.List;

import org.llmwb.core.catalog.ModelConfig;

/**
 * The only backend-aware part of the engine: owns the weights and the KV pool, and runs one step's forward
 * over the sequences the scheduler chose (their new tokens, cache lengths and block tables), returning the
 * logits of each sequence's last new token. The scheduler, block manager and sampler never see tensors.
 */
public interface ModelRunner extends AutoCloseable {
    ModelConfig config();

    /** "cpu" or "cuda". */
    String backend();

    /** What runs it, in words (CPU model, GPU name). */
    String device();

    int blockSize();

    int kvBlocks();

    /** KV bytes one token takes in the pool, all layers, as stored. */
    long kvBytesPerToken();

    long weightBytes();

    /** Copy-on-write copies ({src, dst} blocks) to make before the step's forward. */
    void copyBlocks(List<int[]> copies);

    /**
     * One step; returns logits rows in input order: {@link SeqInput#logits()} rows per input (its last new
     * tokens'), so [inputs.size()][vocab] when each asks for one.
     */
    default float[][] run(List<SeqInput> inputs) {
        return run(inputs, config().numLayers());
    }

    /**
     * A step whose every token is chosen greedily: the argmax of each logits row {@link #run} would return (lowest
     * index on ties), computed where the logits are. The default runs {@link #run} and takes the argmax on the host; a
     * GPU runner keeps the logits on the device and returns only the ids.
     */
    default int[] runGreedy(List<SeqInput> inputs) {
        float[][] rows = run(inputs);
        int[] out = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            float[] l = rows[r];
            int best = 0;
            for (int i = 1; i < l.length; i++) {
                if (l[i] > l[best]) {
                    best = i;
                }
            }
            out[r] = best;
        }
        return out;
    }

    /**
     * One step through the first {@code layers} decoder layers only, then the final norm and LM head (early exit:
     * the draft of self-speculative decoding). K/V are written for those layers only.
     */
    float[][] run(List<SeqInput> inputs, int layers);

    /** A runner-owned buffer holding the K/V of some blocks (all layers) on their way to another pool. */
    interface KvStaging extends AutoCloseable {
        int maxBlocks();

        @Override
        default void close() {
        }
    }

    /** K and V bytes one block holds over all layers, as stored. */
    default long kvBlockBytes() {
        return kvBytesPerToken() * blockSize();
    }

    /** A staging buffer for up to {@code maxBlocks} blocks, on this runner's device. */
    default KvStaging newStaging(int maxBlocks) {
        throw new UnsupportedOperationException(backend() + " runner cannot move KV blocks");
    }

    /** Copies the K/V of {@code blocks} (every layer) into {@code dst}, in order; returns when done. */
    default void gatherKv(int[] blocks, KvStaging dst) {
        throw new UnsupportedOperationException(backend() + " runner cannot move KV blocks");
    }

    /** Writes the K/V in {@code src} (as {@link #gatherKv} laid it out, for as many blocks) into {@code blocks} of this pool. */
    default void scatterKv(KvStaging src, int[] blocks) {
        throw new UnsupportedOperationException(backend() + " runner cannot move KV blocks");
    }

    /**
     * Copies {@code blocks} blocks' worth of {@code src} (this runner's) into {@code dst} (a staging of {@code to});
     * returns the path taken: "host" (CPU memory), "device" (one GPU), "peer" (GPU to GPU) or "via-host".
     */
    default String copyStaging(KvStaging src, ModelRunner to, KvStaging dst, int blocks) {
        throw new UnsupportedOperationException(backend() + " runner cannot move KV blocks");
    }

    /**
     * Takes in K/V another runner gathered into {@code src}: copies it into {@code local} (this runner's staging)
     * and scatters it into {@code blocks}, or, where the devices allow, reads {@code src} directly. Returns the
     * path taken (see {@link #copyStaging}; "peer-pull" when read across GPUs directly).
     */
    default String receiveKv(ModelRunner from, KvStaging src, KvStaging local, int[] blocks) {
        String path = from.copyStaging(src, this, local, blocks.length);
        scatterKv(local, blocks);
        return path;
    }

    /** Makes the runner usable from the calling thread (the GPU runner makes its CUDA context current there). */
    default void bindToCurrentThread() {
    }

    @Override
    default void close() {
    }
}
