package org.llmwb.engine.sim;

import java.util.List;

import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;

/**
 * A model runner that computes nothing: each step advances its replica's virtual clock by what the step-time model
 * says the step costs, and returns one-wide logits rows (every sampled token is id 0, so requests run to their
 * max tokens with the stop tokens ignored). The engine's own scheduler, block manager and metrics run unchanged
 * around it, on that clock.
 */
final class SimRunner implements ModelRunner {
    private final ModelConfig cfg;
    private final StepTimeModel model;
    private final int blocks;
    private final int blockSize;
    private final long kvBytesPerToken;
    double now;
    double busy;
    long steps;
    long tokens;

    SimRunner(ModelConfig cfg, StepTimeModel model, int blocks, int blockSize, long kvBytesPerToken) {
        this.cfg = cfg;
        this.model = model;
        this.blocks = blocks;
        this.blockSize = blockSize;
        this.kvBytesPerToken = kvBytesPerToken;
    }

    @Override
    public ModelConfig config() {
        return cfg;
    }

    @Override
    public String backend() {
        return "sim";
    }

    @Override
    public String device() {
        return model.describe();
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int kvBlocks() {
        return blocks;
    }

    @Override
    public long kvBytesPerToken() {
        return kvBytesPerToken;
    }

    @Override
    public long weightBytes() {
        return 0;
    }

    @Override
    public void copyBlocks(List<int[]> copies) {
    }

    @Override
    public float[][] run(List<SeqInput> inputs, int layers) {
        double dt = model.seconds(inputs);
        now += dt;
        busy += dt;
        steps++;
        int rows = 0;
        for (SeqInput s : inputs) {
            rows += s.logits();
            tokens += s.tokens().length;
        }
        return new float[rows][1];
    }

    @Override
    public void close() {
    }
}
