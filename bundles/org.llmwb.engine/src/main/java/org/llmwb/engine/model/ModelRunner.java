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
     * One step through the first {@code layers} decoder layers only, then the final norm and LM head (early exit:
     * the draft of self-speculative decoding). K/V are written for those layers only.
     */
    float[][] run(List<SeqInput> inputs, int layers);

    /** Makes the runner usable from the calling thread (the GPU runner makes its CUDA context current there). */
    default void bindToCurrentThread() {
    }

    @Override
    default void close() {
    }
}
