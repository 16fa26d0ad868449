package org.llmwb.core.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.catalog.ModelConfig;

/**
 * Memory per GPU of one training step, and the communication each parallelism adds — the first part of the training
 * planner (issue 26). Formulas and where they come from:
 * <ul>
 * <li><b>Model states</b> (ZeRO, Rajbhandari et al. 2020, §3): with mixed precision, 2 bytes of 16-bit weights and 2 of
 * gradients per parameter, plus K bytes of optimizer states — Adam keeps an FP32 master copy, momentum and variance,
 * K = 12, so 16 bytes per parameter; 8-bit Adam K = 6 (master 4 + two 1-byte moments); SGD with momentum K = 8. Stage 1
 * shards the K bytes over the N_d data-parallel ranks, stage 2 also the gradients, stage 3 (FSDP full sharding) also the
 * weights. Model parallelism divides the parameters first (TP × PP, experts also by EP).</li>
 * <li><b>Activations</b> (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
 * §4): per layer, with 16-bit activations, sequence s, micro-batch b, hidden h, a heads, TP t: sbh(34 + 5as/h) with no
 * parallelism; sbh(10 + 24/t + 5as/(ht)) with TP; sbh(34/t + 5as/(ht)) with TP and sequence parallelism; selective
 * recomputation drops the 5as/h attention-core term; full recomputation keeps only each layer's input, 2sbh (/t with
 * SP). The 34 is the paper's GPT layer (4h MLP); other MLP widths and gated MLPs change the MLP's share, computed here
 * from the layer's shapes the same way (so a GPT shape reproduces 34 exactly). The first pipeline stage holds p
 * micro-batches in flight under 1F1B (so L layers' worth in all), m under GPipe; context parallelism divides s.</li>
 * <li><b>Pipeline bubble</b>: (p − 1) / (m + p − 1) of the step for GPipe and 1F1B with m micro-batches; interleaved
 * 1F1B with v stages per GPU: (p − 1) / (v·m + p − 1) (Narayanan et al. 2021).</li>
 * </ul>
 */
public final class TrainingMemory {
    public enum Optimizer {
        ADAM(12), ADAM_8BIT(6), SGD(8);

        /** Optimizer-state bytes per parameter (K in the ZeRO paper). */
        public final int bytesPerParam;

        Optimizer(int k) {
            this.bytesPerParam = k;
        }

        public static Optimizer parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "adam", "adamw" -> ADAM;
                case "adam8bit", "adam-8bit", "8bit-adam" -> ADAM_8BIT;
                case "sgd" -> SGD;
                default -> throw new IllegalArgumentException("optimizer is adam, adam8bit or sgd, not '" + s + "'");
            };
        }
    }

    public enum Recompute {
        NONE, SELECTIVE, FULL;

        public static Recompute parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "none" -> NONE;
                case "selective" -> SELECTIVE;
                case "full" -> FULL;
                default -> throw new IllegalArgumentException("recompute is none, selective or full, not '" + s + "'");
            };
        }
    }

    public enum Schedule {
        GPIPE, ONE_F_ONE_B, INTERLEAVED;

        public static Schedule parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "gpipe" -> GPIPE;
                case "1f1b" -> ONE_F_ONE_B;
                case "interleaved" -> INTERLEAVED;
                default -> throw new IllegalArgumentException("schedule is gpipe, 1f1b or interleaved, not '" + s + "'");
            };
        }
    }

    /**
     * One training job. {@code model} may be null when only the parameter count is known ({@code params}): then only the
     * model states are computed.
     */
    public record Input(ModelConfig model, long params, int dp, int tp, int pp, int cp, int ep, int zero, boolean offloadOptimizer, Optimizer optimizer,
            int microBatch, int seqLen, int microBatches, Recompute recompute, boolean sequenceParallel, Schedule schedule, int virtualStages) {
        public Input {
            if (dp < 1 || tp < 1 || pp < 1 || cp < 1 || ep < 1) {
                throw new IllegalArgumentException("dp, tp, pp, cp and ep must be >= 1");
            }
            if (zero < 0 || zero > 3) {
                throw new IllegalArgumentException("ZeRO stage is 0, 1, 2 or 3, not " + zero);
            }
            if (microBatch < 1 || seqLen < 1 || microBatches < 1 || virtualStages < 1) {
                throw new IllegalArgumentException("micro-batch, sequence length, micro-batches and virtual stages must be >= 1");
            }
            if (model == null && params < 1) {
                throw new IllegalArgumentException("give a model or a parameter count");
            }
            if (sequenceParallel && tp == 1) {
                throw new IllegalArgumentException("sequence parallelism splits the TP group's activations: it needs TP > 1");
            }
            if (schedule == Schedule.INTERLEAVED && pp == 1) {
                throw new IllegalArgumentException("an interleaved schedule needs PP > 1");
            }
            if (model != null && (model.numHeads() % tp != 0)) {
                throw new IllegalArgumentException("TP " + tp + " does not divide the " + model.numHeads() + " attention heads");
            }
            if (model != null && pp > model.numLayers()) {
                throw new IllegalArgumentException("PP " + pp + " is more stages than the " + model.numLayers() + " layers");
            }
            if (model != null && ep > 1 && (!model.isMoe() || model.numExperts() % ep != 0)) {
                throw new IllegalArgumentException(model.isMoe() ? "EP " + ep + " does not divide the " + model.numExperts() + " experts" : "EP needs a mixture-of-experts model");
            }
        }

        public int gpus() {
            return dp * tp * pp * cp;
        }

        /** Ranks a ZeRO/FSDP shard spans: the data-parallel ranks, context-parallel ones included (they hold the same weights). */
        public int shardRanks() {
            return dp * cp;
        }
    }

    /** Bytes per GPU by part, with the formula each came from. */
    public record Result(Input input, double paramsPerGpu, double weightsBytes, double gradientBytes, double optimizerBytes, double optimizerOffloadedBytes,
            double activationBytes, double activationBytesPerLayer, double bubbleFraction, List<Comm> comms, Map<String, String> formulas) {
        /** Parameters + gradients + optimizer states on the GPU (what ZeRO calls model states). */
        public double modelStatesBytes() {
            return weightsBytes + gradientBytes + optimizerBytes;
        }

        public double totalBytes() {
            return modelStatesBytes() + activationBytes;
        }
    }

    /** Bytes a GPU sends per step for one kind of communication, and over which group. */
    public record Comm(String what, String collective, String group, int groupSize, double bytesPerGpu, int perStep) {
    }

    private TrainingMemory() {
    }

    public static Result compute(Input in) {
        Map<String, String> f = new LinkedHashMap<>();
        double psi = in.model() != null ? in.model().totalParams() : in.params();
        // model parallelism first: TP and PP split the weights; experts are split by EP as well
        double perGpu;
        if (in.model() != null && in.model().isMoe() && in.ep() > 1) {
            ModelConfig m = in.model();
            double experts = (double) m.expertParams() * m.numExperts() * m.numMoeLayers();
            perGpu = ((psi - experts) + experts / in.ep()) / (in.tp() * in.pp());
            f.put("params per GPU", "(Ψ − experts + experts / EP) / (TP × PP)");
        } else {
            perGpu = psi / (in.tp() * in.pp());
            f.put("params per GPU", "Ψ / (TP × PP)");
        }
        int nd = in.shardRanks();
        int k = in.optimizer().bytesPerParam;
        double weights = 2 * perGpu / (in.zero() >= 3 ? nd : 1);
        double grads = 2 * perGpu / (in.zero() >= 2 ? nd : 1);
        double opt = k * perGpu / (in.zero() >= 1 ? nd : 1);
        f.put("model states", String.format(Locale.ROOT, "(2 weights + 2 gradients + %d optimizer) bytes × params per GPU; ZeRO-%d divides %s by N_d = DP × CP = %d", k,
                in.zero(), switch (in.zero()) {
                    case 0 -> "nothing";
                    case 1 -> "the optimizer states";
                    case 2 -> "optimizer states and gradients";
                    default -> "optimizer states, gradients and weights";
                }, nd));
        double offloaded = 0;
        if (in.offloadOptimizer()) {
            offloaded = opt;
            opt = 0;
            f.put("optimizer offload", "optimizer states (and the update) on the host: 0 bytes on the GPU");
        }
        double actLayer = 0;
        double act = 0;
        if (in.model() != null) {
            actLayer = activationsPerLayer(in, f);
            int layers = in.model().numLayers();
            double inFlight = switch (in.schedule()) {
                case GPIPE -> Math.max(in.microBatches(), 1);
                case ONE_F_ONE_B -> Math.min(in.pp(), in.microBatches());
                case INTERLEAVED -> Math.min(in.pp(), in.microBatches()) * (1 + (in.pp() - 1.0) / (in.pp() * in.virtualStages()));
            };
            act = actLayer * layers / in.pp() * inFlight;
            f.put("activations", "per layer × L / PP × micro-batches in flight on the first stage (" + switch (in.schedule()) {
                case GPIPE -> "GPipe: all m";
                case ONE_F_ONE_B -> "1F1B: min(p, m)";
                case INTERLEAVED -> "interleaved 1F1B: min(p, m) × (1 + (p − 1)/(p·v))";
            } + ")");
        }
        double bubble = in.pp() == 1 ? 0 : in.schedule() == Schedule.INTERLEAVED ? (in.pp() - 1.0) / (in.virtualStages() * in.microBatches() + in.pp() - 1.0)
                : (in.pp() - 1.0) / (in.microBatches() + in.pp() - 1.0);
        f.put("pipeline bubble", in.schedule() == Schedule.INTERLEAVED ? "(p − 1) / (v·m + p − 1)" : "(p − 1) / (m + p − 1)");
        return new Result(in, perGpu, weights, grads, opt, offloaded, act, actLayer, bubble, comms(in, perGpu, f), f);
    }

    /** Activation bytes of one transformer layer on one GPU for one micro-batch (Korthikanti et al. 2022, generalized to the layer's MLP). */
    static double activationsPerLayer(Input in, Map<String, String> f) {
        ModelConfig m = in.model();
        double s = (double) in.seqLen() / in.cp();
        double b = in.microBatch();
        double h = m.hiddenSize();
        double a = m.numHeads();
        double t = in.tp();
        double i = m.isMoe() ? m.moeIntermediateSize() * Math.max(1, m.expertsPerToken()) : m.intermediateSize();
        // bytes per s·b·h: attention 11 (QKV input 2, Q and K 4, V 2, output-projection input 2, dropout mask 1);
        // MLP: input 2, each of its intermediate tensors 2·i/h (GeLU: input and output; gated: gate, up, act, product), mask 1;
        // two layer norms' inputs 4
        double mlp = m.gatedMlp() ? 3 + 8 * i / h : 3 + 4 * i / h;
        double total = 11 + mlp + 4;
        double replicated = 10; // QKV and MLP inputs (2 + 2), layer-norm inputs (4), two dropout masks (1 + 1): not split by TP without SP
        double scores = 5 * a * s / h; // softmax output 2, its dropout mask 1, dropout output 2 — per head, s × s
        double perSbh;
        switch (in.recompute()) {
            case FULL -> {
                perSbh = in.sequenceParallel() ? 2 / t : 2;
                f.put("activations per layer", "full recomputation: the layer's input, 2sbh" + (in.sequenceParallel() ? " / t" : ""));
            }
            case SELECTIVE -> {
                perSbh = in.sequenceParallel() ? total / t : replicated + (total - replicated) / t;
                f.put("activations per layer", String.format(Locale.ROOT, in.sequenceParallel() ? "selective recomputation with SP: sbh·%.4g / t" : "selective recomputation: sbh(10 + %.4g / t)",
                        in.sequenceParallel() ? total : total - replicated));
            }
            default -> {
                perSbh = (in.sequenceParallel() ? total / t : replicated + (total - replicated) / t) + scores / t;
                f.put("activations per layer", String.format(Locale.ROOT, in.sequenceParallel() ? "sbh(%.4g / t + 5as / (h·t))" : "sbh(10 + %.4g / t + 5as / (h·t))",
                        in.sequenceParallel() ? total : total - replicated));
            }
        }
        return s * b * h * perSbh;
    }

    /** What each parallelism sends per GPU per optimizer step (ring collectives: 2(n−1)/n of the buffer for an all-reduce). */
    static List<Comm> comms(Input in, double perGpu, Map<String, String> f) {
        List<Comm> out = new ArrayList<>();
        int nd = in.shardRanks();
        double gradBytes = 2 * perGpu;
        if (nd > 1) {
            double ring = (nd - 1.0) / nd;
            switch (in.zero()) {
                case 0 -> out.add(new Comm("gradients", "all-reduce", "DP×CP", nd, 2 * ring * gradBytes, 1));
                case 1, 2 -> {
                    out.add(new Comm("gradients", "reduce-scatter", "DP×CP", nd, ring * gradBytes, 1));
                    out.add(new Comm("updated weights", "all-gather", "DP×CP", nd, ring * gradBytes, 1));
                }
                default -> {
                    out.add(new Comm("weights for forward", "all-gather", "DP×CP", nd, ring * gradBytes, in.microBatches()));
                    out.add(new Comm("weights for backward", "all-gather", "DP×CP", nd, ring * gradBytes, in.microBatches()));
                    out.add(new Comm("gradients", "reduce-scatter", "DP×CP", nd, ring * gradBytes, in.microBatches()));
                }
            }
            f.put("data-parallel traffic", "ZeRO-0: all-reduce 2(n−1)/n × 2Ψ'; ZeRO-1/2: reduce-scatter + all-gather, the same volume; ZeRO-3: 1.5× that per micro-batch "
                    + "(weights gathered for forward and backward)");
        }
        if (in.model() != null) {
            ModelConfig m = in.model();
            double sbh2 = 2.0 * in.seqLen() / in.cp() * in.microBatch() * m.hiddenSize();
            int layers = m.numLayers() / in.pp();
            int mb = in.microBatches();
            if (in.tp() > 1) {
                double ring = (in.tp() - 1.0) / in.tp();
                if (in.sequenceParallel()) {
                    out.add(new Comm("layer activations (SP)", "all-gather + reduce-scatter", "TP", in.tp(), 2 * ring * sbh2, 4 * layers * mb));
                } else {
                    out.add(new Comm("layer activations", "all-reduce", "TP", in.tp(), 2 * ring * sbh2, 4 * layers * mb));
                }
                f.put("tensor-parallel traffic", "4 collectives per layer per micro-batch (2 forward, 2 backward) on s·b·h 16-bit activations");
            }
            if (in.pp() > 1) {
                out.add(new Comm("stage boundary activations and their gradients", "send/recv", "PP", 2, sbh2 / in.tp() * (in.sequenceParallel() ? 1 : in.tp()), 2 * mb));
            }
            if (in.cp() > 1) {
                double kv = 2.0 * 2 * in.seqLen() / in.cp() * in.microBatch() * m.numKvHeads() * m.headDim() / in.tp();
                out.add(new Comm("K/V blocks around the ring (forward; backward sends them again with their gradients)", "ring send/recv", "CP", in.cp(),
                        kv * (in.cp() - 1), layers * mb * 3));
            }
            if (in.ep() > 1 && m.isMoe()) {
                double tokens = (double) in.seqLen() / in.cp() * in.microBatch() * Math.max(1, m.expertsPerToken());
                out.add(new Comm("tokens to and from their experts", "all-to-all", "EP", in.ep(), 2.0 * tokens * m.hiddenSize() * (in.ep() - 1.0) / in.ep(),
                        4 * m.numMoeLayers() / in.pp() * mb));
            }
        }
        return out;
    }
}
