package org.llmwb.runner;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.Units;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.train.TrainingMemory;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", description = {"Memory per GPU of a distributed training step — weights, gradients and optimizer states under ZeRO/FSDP, activations",
        "with sequence parallelism and recomputation, the pipeline bubble — and what each parallelism sends per step (docs/training.md)."})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PRESET|config.json", description = "model preset id or a Hugging Face config.json")
    String model;
    @Option(names = "--params", defaultValue = "0", description = "a parameter count instead of a model (then model states only), e.g. 7.5e9")
    double params;
    @Option(names = {"-g", "--gpu"}, paramLabel = "GPU", description = "GPU id (llmwb gpus): says whether it fits and what to change")
    String gpu;
    @Option(names = "--gpus", defaultValue = "0", description = "GPUs in all (default: DP × TP × PP × CP); with --gpus, DP is derived when not given")
    int gpus;
    @Option(names = "--dp", defaultValue = "0", description = "data-parallel replicas (default: --gpus / (TP × PP × CP), else 1)")
    int dp;
    @Option(names = "--tp", defaultValue = "1")
    int tp;
    @Option(names = "--pp", defaultValue = "1")
    int pp;
    @Option(names = "--cp", defaultValue = "1", description = "context-parallel ranks (split the sequence)")
    int cp;
    @Option(names = "--ep", defaultValue = "1", description = "expert-parallel ranks (MoE models)")
    int ep;
    @Option(names = "--zero", defaultValue = "0", description = "ZeRO stage 0-3 over the DP×CP ranks (default: ${DEFAULT-VALUE})")
    int zero;
    @Option(names = "--fsdp", description = "PyTorch FSDP full sharding: ZeRO-3")
    boolean fsdp;
    @Option(names = "--offload-optimizer", description = "optimizer states and step on the host")
    boolean offload;
    @Option(names = "--optimizer", defaultValue = "adam", description = "adam (AdamW, FP32 master + moments: 12 bytes/param), adam8bit (6) or sgd (momentum: 8)")
    String optimizer;
    @Option(names = "--micro-batch", defaultValue = "1")
    int microBatch;
    @Option(names = "--seq-len", defaultValue = "4096")
    int seqLen;
    @Option(names = "--micro-batches", defaultValue = "1", description = "micro-batches per step per replica (gradient accumulation; fills the pipeline)")
    int microBatches;
    @Option(names = "--recompute", defaultValue = "none", description = "none, selective (attention core) or full (default: ${DEFAULT-VALUE})")
    String recompute;
    @Option(names = "--sp", description = "sequence parallelism in the TP group")
    boolean sp;
    @Option(names = "--schedule", defaultValue = "1f1b", description = "gpipe, 1f1b or interleaved (default: ${DEFAULT-VALUE})")
    String schedule;
    @Option(names = "--virtual-stages", defaultValue = "1", description = "model chunks per GPU for the interleaved schedule")
    int virtualStages;

    @Override
    public Integer call() {
        if ((model == null) == !(params > 0)) {
            throw new InputException("give --model or --params (one of them)");
        }
        if (params > 0 && (params > 1e15 || params != Math.rint(params))) {
            throw new InputException("--params must be a whole number of parameters up to 1e15, not " + params);
        }
        ModelConfig m = model == null ? null : ModelPresets.resolve(model);
        int per = tp * pp * cp;
        if (tp < 1 || pp < 1 || cp < 1 || dp < 0 || gpus < 0) {
            throw new InputException("--tp, --pp and --cp must be >= 1; --dp and --gpus >= 0");
        }
        int d = dp > 0 ? dp : gpus > 0 ? gpus / per : 1;
        if (gpus > 0 && (gpus % per != 0 || d * per != gpus)) {
            throw new InputException("--gpus " + gpus + " is not DP × TP × PP × CP (" + (dp > 0 ? dp : "?") + " × " + tp + " × " + pp + " × " + cp + ")");
        }
        TrainingMemory.Input in;
        try {
            TrainingMemory.Recompute rc = TrainingMemory.Recompute.parse(recompute);
            TrainingMemory.Schedule sc = TrainingMemory.Schedule.parse(schedule);
            in = new TrainingMemory.Input(m, (long) params, d, tp, pp, cp, ep, fsdp ? 3 : zero, offload, TrainingMemory.Optimizer.parse(optimizer), microBatch, seqLen,
                    microBatches, rc, sp, sc, virtualStages);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
        TrainingMemory.Result r = TrainingMemory.compute(in);
        GpuSpec g = gpu == null ? null : common.catalog().get(gpu);
        PrintWriter out = spec.commandLine().getOut();
        List<String> advice = g == null ? List.of() : advice(in, r, g);
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m == null ? null : m.name());
            j.put("params", m == null ? (long) params : m.totalParams());
            j.put("gpus", in.gpus());
            j.put("parallel", Map.of("dp", in.dp(), "tp", tp, "pp", pp, "cp", cp, "ep", ep, "zero", in.zero(), "sp", sp));
            j.put("paramsPerGpu", r.paramsPerGpu());
            j.put("weightsBytes", r.weightsBytes());
            j.put("gradientBytes", r.gradientBytes());
            j.put("optimizerBytes", r.optimizerBytes());
            j.put("optimizerOffloadedBytes", r.optimizerOffloadedBytes());
            j.put("modelStatesBytes", r.modelStatesBytes());
            j.put("activationBytes", r.activationBytes());
            j.put("activationBytesPerLayer", r.activationBytesPerLayer());
            j.put("totalBytes", r.totalBytes());
            j.put("pipelineBubble", r.bubbleFraction());
            List<Map<String, Object>> cs = new ArrayList<>();
            for (TrainingMemory.Comm c : r.comms()) {
                cs.add(new LinkedHashMap<>(Map.of("what", c.what(), "collective", c.collective(), "group", c.group(), "groupSize", c.groupSize(), "bytesPerGpu",
                        c.bytesPerGpu(), "perStep", c.perStep())));
            }
            j.put("communication", cs);
            if (g != null) {
                j.put("gpu", g.id());
                j.put("gpuMemoryBytes", g.memoryBytes());
                j.put("fits", r.totalBytes() <= g.memoryBytes());
                j.put("advice", advice);
            }
            j.put("formulas", r.formulas());
            Output.json(out, j);
            return 0;
        }
        out.printf(Locale.ROOT, "%s on %d GPUs as DP %d × TP %d × PP %d × CP %d%s, ZeRO-%d%s, %s, micro-batch %d × %d tokens, %d micro-batches%n",
                m == null ? String.format(Locale.ROOT, "%.4g", params) + " parameters" : m.name(), in.gpus(), in.dp(), tp, pp, cp, ep > 1 ? " (EP " + ep + ")" : "", in.zero(),
                sp ? ", SP" : "", in.optimizer().name().toLowerCase(Locale.ROOT), microBatch, seqLen, microBatches);
        out.printf(Locale.ROOT, "per GPU: weights %s + gradients %s + optimizer %s = model states %s%s%n", Units.bytes(r.weightsBytes()), Units.bytes(r.gradientBytes()),
                Units.bytes(r.optimizerBytes()), Units.bytes(r.modelStatesBytes()), r.optimizerOffloadedBytes() > 0 ? " (" + Units.bytes(r.optimizerOffloadedBytes()) + " of optimizer states on the host)" : "");
        if (m != null) {
            out.printf(Locale.ROOT, "activations %s (%s per layer per micro-batch, recompute %s); total %s%n", Units.bytes(r.activationBytes()),
                    Units.bytes(r.activationBytesPerLayer()), recompute, Units.bytes(r.totalBytes()));
        }
        if (pp > 1) {
            out.printf(Locale.ROOT, "pipeline bubble: %.1f%% of the step%n", 100 * r.bubbleFraction());
        }
        if (g != null) {
            out.printf(Locale.ROOT, "%s has %s: %s%n", g.name(), Units.bytes(g.memoryBytes()), r.totalBytes() <= g.memoryBytes() ? "fits" : "does NOT fit");
            advice.forEach(a -> out.println("  - " + a));
        }
        if (!r.comms().isEmpty()) {
            out.println("communication per GPU per step:");
            for (TrainingMemory.Comm c : r.comms()) {
                out.printf(Locale.ROOT, "  %-6s %-28s %10s × %-5d (%s)%n", c.group(), c.collective(), Units.bytes(c.bytesPerGpu()), c.perStep(), c.what());
            }
        }
        r.formulas().forEach((k, v) -> out.println(k + ": " + v));
        return 0;
    }

    /** What to change when the step does not fit (or has room). */
    static List<String> advice(TrainingMemory.Input in, TrainingMemory.Result r, GpuSpec g) {
        List<String> a = new ArrayList<>();
        if (r.totalBytes() <= g.memoryBytes()) {
            return a;
        }
        if (in.zero() < 3 && in.shardRanks() > 1) {
            a.add("a higher ZeRO stage (--zero " + (in.zero() + 1) + ") shards more of the model states over the " + in.shardRanks() + " DP×CP ranks");
        }
        if (in.zero() < 1 && in.shardRanks() == 1) {
            a.add("more data-parallel ranks with ZeRO shard the optimizer states (" + Units.bytes(r.optimizerBytes()) + " now)");
        }
        if (in.model() != null && in.recompute() != TrainingMemory.Recompute.FULL) {
            a.add("--recompute " + (in.recompute() == TrainingMemory.Recompute.NONE ? "selective" : "full") + " shrinks the activations (" + Units.bytes(r.activationBytes()) + " now)");
        }
        if (in.model() != null && in.tp() > 1 && !in.sequenceParallel()) {
            a.add("--sp splits the activations TP keeps whole");
        }
        if (!in.offloadOptimizer() && r.optimizerBytes() > 0) {
            a.add("--offload-optimizer moves " + Units.bytes(r.optimizerBytes()) + " to the host (at the cost of host-device traffic every step)");
        }
        a.add("more TP or PP divides the weights and the layers further");
        return a;
    }
}
