package org.llmwb.engine.sim;

import java.util.List;
import java.util.Locale;

import org.llmwb.core.InputException;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;
import org.llmwb.engine.model.SeqInput;

/**
 * A step's time from the roofline of the GPU the replica runs on: the larger of its FLOPs over the peak and its
 * bytes over the bandwidth (each derated by an efficiency), plus the tensor-parallel all-reduces over the GPU's
 * link and a fixed per-step overhead. With efficiencies 1 and no overhead it is the lower bound the core
 * calculators give ({@link InferenceCost#decode}, {@link InferenceCost#prefill}) for the same batch.
 *
 * <pre>
 * FLOPs = 2 × matmulParams × newTokens + Σ_seq 4 × layers × heads × qkHeadDim × n × (past + (n + 1) / 2)
 * bytes = weights touched + Σ_seq (past + n) × kvBytesPerToken (read) + newTokens × kvBytesPerToken (write)
 * per GPU: FLOPs / tp, bytes / tp; all-reduce (tp > 1): 2 × layers × (2 (tp − 1) / tp × newTokens × hidden × 2 B / link + α)
 * </pre>
 * A prefill row's causal attention counts each new token against the cached tokens and half of the new ones, so
 * a chunk of n after p cached tokens costs what the core's prefill formula gives for a prompt of n when p = 0.
 */
public final class RooflineStepModel implements StepTimeModel {
    private final ModelConfig model;
    private final GpuSpec gpu;
    private final Precision weights;
    private final Precision kv;
    private final int tp;
    private final double computeEfficiency;
    private final double memoryEfficiency;
    private final double stepOverheadS;
    private final double allReduceLatencyS;
    private final double kvBytesPerToken;
    /** Weight bytes touched by a step of n tokens (all of them for a dense model; MoE: the experts n tokens reach). */
    private final java.util.Map<Long, Double> weightBytes = new java.util.HashMap<>();

    public RooflineStepModel(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, int tp, double computeEfficiency, double memoryEfficiency,
            double stepOverheadS, double allReduceLatencyS) {
        if (tp < 1 || model.numHeads() % tp != 0 || model.numKvHeads() % tp != 0 && tp % model.numKvHeads() != 0) {
            throw new InputException("TP " + tp + " does not divide the " + model.numHeads() + " attention heads and " + model.numKvHeads() + " KV heads of " + model.name());
        }
        if (!(computeEfficiency > 0 && computeEfficiency <= 1) || !(memoryEfficiency > 0 && memoryEfficiency <= 1)) {
            throw new InputException("efficiencies must be in (0, 1]");
        }
        if (stepOverheadS < 0 || allReduceLatencyS < 0) {
            throw new InputException("overheads must be >= 0");
        }
        if (gpu.peakFor(weights) <= 0 || gpu.memoryBandwidth() <= 0) {
            throw new InputException(gpu.name() + " has no peak for " + weights + " in the catalog");
        }
        this.model = model;
        this.gpu = gpu;
        this.weights = weights;
        this.kv = kv;
        this.tp = tp;
        this.computeEfficiency = computeEfficiency;
        this.memoryEfficiency = memoryEfficiency;
        this.stepOverheadS = stepOverheadS;
        this.allReduceLatencyS = allReduceLatencyS;
        this.kvBytesPerToken = KvCache.bytesPerToken(model, kv);
    }

    public ModelConfig model() {
        return model;
    }

    public int tp() {
        return tp;
    }

    /** The same GPU, efficiencies and overheads at another tensor-parallel size. */
    public RooflineStepModel withTp(int n) {
        return new RooflineStepModel(model, gpu, weights, kv, n, computeEfficiency, memoryEfficiency, stepOverheadS, allReduceLatencyS);
    }

    /** The bare roofline bound: efficiencies 1, no overheads. */
    public static RooflineStepModel bound(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, int tp) {
        return new RooflineStepModel(model, gpu, weights, kv, tp, 1, 1, 0, 0);
    }

    public double flops(List<SeqInput> in) {
        long tokens = 0;
        double attn = 0;
        double perPair = 4.0 * model.numLayers() * model.numHeads() * model.qkHeadDim();
        for (SeqInput s : in) {
            int n = s.tokens().length;
            tokens += n;
            attn += perPair * n * (s.past() + (n + 1) / 2.0);
        }
        return 2.0 * InferenceCost.matmulParamsPerToken(model) * tokens + attn;
    }

    public double bytes(List<SeqInput> in) {
        long tokens = 0;
        long read = 0;
        for (SeqInput s : in) {
            tokens += s.tokens().length;
            read += s.past() + s.tokens().length;
        }
        long n = model.isMoe() ? Math.max(1, tokens) : 1;
        double w = weightBytes.computeIfAbsent(n, t -> InferenceCost.weightBytesTouched(model, weights, t));
        return w + read * kvBytesPerToken + tokens * kvBytesPerToken;
    }

    public double allReduceSeconds(List<SeqInput> in) {
        if (tp == 1) {
            return 0;
        }
        long tokens = in.stream().mapToLong(s -> s.tokens().length).sum();
        double msg = tokens * (double) model.hiddenSize() * 2;
        double link = gpu.linkBandwidthPerDirection() > 0 ? gpu.linkBandwidthPerDirection() : gpu.pcieBandwidthPerDirection();
        return 2.0 * model.numLayers() * (2.0 * (tp - 1) / tp * msg / link + allReduceLatencyS);
    }

    @Override
    public double seconds(List<SeqInput> in) {
        double compute = flops(in) / tp / (gpu.peakFor(weights) * computeEfficiency);
        double memory = bytes(in) / tp / (gpu.memoryBandwidth() * memoryEfficiency);
        return Math.max(compute, memory) + allReduceSeconds(in) + stepOverheadS;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "roofline of %s on %s × %d (%s weights, %s KV): %.0f%% of peak, %.0f%% of bandwidth, %.0f µs per step, all-reduce α %.1f µs",
                model.name(), gpu.name(), tp, weights, kv, 100 * computeEfficiency, 100 * memoryEfficiency, stepOverheadS * 1e6, allReduceLatencyS * 1e6);
    }
}
