package org.llmwb.runner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.Units;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plan.ParallelConfig;
import org.llmwb.core.plan.PlanInput;
import org.llmwb.core.plan.PlanResult;
import org.llmwb.core.plan.Planner;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "plan", description = "Plan TP/PP/DP/EP/CP/SP for a model on a GPU type: validation, per-GPU memory, collectives, engine flags.")
final class PlanCommand implements java.util.concurrent.Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelGpuOptions target;
    @Option(names = "--tp", defaultValue = "1")
    int tp;
    @Option(names = "--pp", defaultValue = "1")
    int pp;
    @Option(names = "--dp", defaultValue = "1")
    int dp;
    @Option(names = "--ep", defaultValue = "1")
    int ep;
    @Option(names = "--cp", defaultValue = "1")
    int cp;
    @Option(names = "--sp", description = "sequence parallelism within TP groups")
    boolean sp;
    @Option(names = "--context", defaultValue = "8192", description = "max model length (default: ${DEFAULT-VALUE})")
    long context;
    @Option(names = "--batch", defaultValue = "32", description = "concurrent sequences per replica (default: ${DEFAULT-VALUE})")
    long batch;
    @Option(names = "--gpus-per-node", defaultValue = "8")
    int gpusPerNode;
    @Option(names = "--utilization", defaultValue = "0.9")
    double utilization;

    @Override
    public Integer call() {
        ModelConfig m = target.model();
        GpuSpec g = target.gpu(common.catalog());
        Precision w = target.weights();
        Precision kv = target.kv();
        if (gpusPerNode < 1) {
            throw new InputException("--gpus-per-node must be >= 1");
        }
        PlanInput base = PlanInput.of(m, g, w, kv, new ParallelConfig(tp, pp, dp, ep, cp, sp), context, batch);
        PlanInput in = new PlanInput(m, g, w, kv, base.parallel(), context, batch, base.promptTokens(), gpusPerNode, base.interNodeBandwidth(),
                utilization, base.maxBatchTokens());
        PlanResult r = Planner.plan(in);
        var out = spec.commandLine().getOut();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m.name());
            j.put("gpu", g.id());
            j.put("parallel", Map.of("tp", tp, "pp", pp, "dp", dp, "ep", ep, "cp", cp, "sp", sp));
            j.put("gpus", in.parallel().worldSize());
            j.put("valid", r.valid());
            j.put("problems", Output.problems(r.problems()));
            Map<String, Object> mem = new LinkedHashMap<>();
            mem.put("totalBytes", r.memory().total());
            mem.put("usableBytes", r.memory().usable());
            mem.put("weightsBytes", r.memory().weights());
            mem.put("activationBytes", r.memory().activations());
            mem.put("kvBudgetBytes", r.memory().kvBudget());
            mem.put("kvBytesPerToken", r.kvBytesPerTokenPerGpu());
            j.put("perGpuMemory", mem);
            j.put("maxSequencesPerReplica", r.maxSequencesPerReplica());
            List<Map<String, Object>> cs = new ArrayList<>();
            for (PlanResult.Collective c : r.collectives()) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("phase", c.phase());
                x.put("type", c.type());
                x.put("group", c.group());
                x.put("groupSize", c.groupSize());
                x.put("perStep", c.perStep());
                x.put("messageBytes", c.messageBytes());
                x.put("bytesPerGpu", c.bytesPerGpu());
                x.put("link", c.link());
                x.put("linkBandwidth", c.linkBandwidth());
                x.put("seconds", c.seconds());
                cs.add(x);
            }
            j.put("collectives", cs);
            j.put("decodeStepBound", r.decodeStepBound());
            j.put("prefillBound", r.prefillBound());
            // an invalid plan gets no runnable-looking command lines (they would fail, or worse, start)
            j.put("commands", r.valid() ? r.commands() : java.util.Map.of());
            j.put("formulas", Output.formulas(r.formulas()));
            Output.json(out, j);
            return r.valid() ? 0 : 1;
        }
        out.println(m.name() + " on " + in.parallel().worldSize() + " × " + g.name() + " as " + in.parallel() + ":");
        for (Problem p : r.problems()) {
            out.println("  " + p.severity().name().toLowerCase(Locale.ROOT) + ": " + p.message() + (p.hint() == null ? "" : " → " + p.hint()));
        }
        out.println("per-GPU memory (most loaded GPU): weights " + Units.gib(r.memory().weights()) + ", activations "
                + Units.gib(r.memory().activations()) + ", KV budget " + Units.gib(r.memory().kvBudget()) + " of " + Units.gib(r.memory().total()));
        out.println("KV per token per GPU " + Units.bytes(r.kvBytesPerTokenPerGpu()) + "; max " + r.maxSequencesPerReplica()
                + " sequences of " + context + " tokens per replica");
        out.println("collectives per step:");
        for (PlanResult.Collective c : r.collectives()) {
            out.printf(Locale.ROOT, "  %-7s %-14s %-26s ×%-4d msg %-10s per GPU %-10s over %-18s ≈ %s%n", c.phase(), c.type(), c.group(),
                    c.perStep(), Units.bytes(c.messageBytes()), Units.bytes(c.bytesPerGpu()), c.link(), Units.seconds(c.seconds()));
        }
        out.println("lower bounds: decode step " + Units.seconds(r.decodeStepBound()) + ", prefill of " + in.promptTokens() + " tokens "
                + Units.seconds(r.prefillBound()));
        Output.printFormulas(out, r.formulas());
        if (r.valid()) {
            r.commands().forEach((engine, cmd) -> out.println(engine + ": " + cmd));
        } else {
            out.println("engine commands: none — this plan is invalid (errors above); fix them and plan again");
        }
        return r.valid() ? 0 : 1;
    }
}
