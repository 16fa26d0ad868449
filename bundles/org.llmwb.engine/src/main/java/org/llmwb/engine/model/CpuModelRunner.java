package org.llmwb.engine.model;

import java.util.List;

import org.llmwb.core.catalog.ModelConfig;

/** {@link ModelRunner} on the CPU: {@link LlamaCpu} (ND4J, FP32) over a paged FP32 KV pool. */
public final class CpuModelRunner implements ModelRunner {
    private final LlamaCpu model;
    private final LlamaCpu.KvPool pool;

    public CpuModelRunner(LlamaCpu model, int kvBlocks, int blockSize) {
        this.model = model;
        this.pool = model.newPool(kvBlocks, blockSize);
    }

    public static CpuModelRunner open(Checkpoint ck, int kvBlocks, int blockSize) {
        return new CpuModelRunner(new LlamaCpu(ck), kvBlocks, blockSize);
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public String backend() {
        return "cpu";
    }

    @Override
    public String device() {
        return "CPU (ND4J, FP32" + (model.quantization().any() ? "; " + model.quantization().label() + " emulated" : "") + "), " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    @Override
    public int blockSize() {
        return pool.blockSize;
    }

    @Override
    public int kvBlocks() {
        return pool.blocks;
    }

    @Override
    public long kvBytesPerToken() {
        ModelConfig c = model.config();
        return 2L * c.numLayers() * c.numKvHeads() * c.headDim() * 4; // held as FP32 even when rounded to FP8
    }

    @Override
    public long weightBytes() {
        return model.weightBytes();
    }

    @Override
    public void copyBlocks(List<int[]> copies) {
        for (int[] c : copies) {
            pool.copyBlock(c[0], c[1]);
        }
    }

    private record Staging(float[] data, int maxBlocks) implements KvStaging {
    }

    @Override
    public KvStaging newStaging(int maxBlocks) {
        return new Staging(new float[2 * model.config().numLayers() * pool.blockFloats() * maxBlocks], maxBlocks);
    }

    @Override
    public void gatherKv(int[] blocks, KvStaging dst) {
        pool.gather(blocks, ((Staging) dst).data());
    }

    @Override
    public void scatterKv(KvStaging src, int[] blocks) {
        pool.scatter(((Staging) src).data(), blocks);
    }

    @Override
    public String copyStaging(KvStaging src, ModelRunner to, KvStaging dst, int blocks) {
        int n = 2 * model.config().numLayers() * pool.blockFloats() * blocks;
        System.arraycopy(((Staging) src).data(), 0, ((Staging) dst).data(), 0, n);
        return "host";
    }

    @Override
    public float[][] run(List<SeqInput> inputs, int layers) {
        return model.forward(inputs, pool, layers);
    }
}
