package org.llmwb.runner;

import java.util.LinkedHashMap;
import java.util.Map;

import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.calc.WeightMemory;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "mem", description = "Weight memory and KV capacity (max concurrent sequences) of a model on one GPU.")
final class MemCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelGpuOptions target;
    @Option(names = "--context", defaultValue = "4096", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
    long context;
    @Option(names = "--utilization", defaultValue = "0.9", description = "share of GPU memory the engine may use (default: ${DEFAULT-VALUE})")
    double utilization;

    @Override
    public void run() {
        ModelConfig m = target.model();
        Precision w = target.weights();
        Precision kv = target.kv();
        GpuSpec g = target.gpu(common.catalog());
        KvCapacity.Result r = KvCapacity.compute(m, g, w, kv, context, utilization);
        var out = spec.commandLine().getOut();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m.name());
            j.put("gpu", g.id());
            j.put("precision", w.id());
            j.put("kvPrecision", kv.id());
            j.put("context", context);
            j.put("params", WeightMemory.compute(m, w).params());
            j.put("weightsBytes", r.weightBytes());
            j.put("gpuBytes", r.gpuBytes());
            j.put("usableBytes", r.usableBytes());
            j.put("activationBytes", r.activationBytes());
            j.put("kvBudgetBytes", r.kvBudgetBytes());
            j.put("kvBytesPerSequence", r.kvBytesPerSequence());
            j.put("maxSequences", r.maxSequences());
            j.put("maxTokens", r.maxTokens());
            j.put("weightsFit", r.weightsFit());
            j.put("formulas", Output.formulas(r.formulas()));
            Output.json(out, j);
            return;
        }
        out.println(m.name() + " on " + g.name() + ", weights " + w.id() + ", KV " + kv.id() + ", context " + context + ":");
        Output.printFormulas(out, r.formulas());
        out.println(r.weightsFit() ? "fits: up to " + r.maxSequences() + " concurrent sequences of " + context + " tokens ("
                + r.maxTokens() + " KV tokens)" : "DOES NOT FIT: weights " + Units.gib(r.weightBytes()) + " > usable " + Units.gib(r.usableBytes()));
    }
}
