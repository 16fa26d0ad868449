package org.llmwb.runner;

import java.util.LinkedHashMap;
import java.util.Map;

import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "kv", description = "KV-cache bytes per token, per sequence and per batch (MHA, GQA, MQA, MLA).")
final class KvCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PRESET|config.json", description = "model preset id or a Hugging Face config.json")
    String model;
    @Option(names = "--context", required = true, paramLabel = "N", description = "tokens per sequence")
    long context;
    @Option(names = {"-p", "--precision"}, defaultValue = "bf16", paramLabel = "P", description = "KV cache precision (default: ${DEFAULT-VALUE})")
    String precision;
    @Option(names = "--batch", defaultValue = "1", paramLabel = "B", description = "concurrent sequences (default: ${DEFAULT-VALUE})")
    long batch;
    @Option(names = "--kv-heads", paramLabel = "H", description = "override the model's KV-head count (what-if for GQA/MQA)")
    Integer kvHeads;

    @Override
    public void run() {
        ModelConfig m = ModelPresets.resolve(model);
        if (kvHeads != null) {
            m = m.withKvHeads(kvHeads);
        }
        Precision p = Precision.parse(precision);
        KvCache.Result r = KvCache.compute(m, p, context, batch);
        var out = spec.commandLine().getOut();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m.name());
            j.put("attention", r.attention().name());
            j.put("precision", p.id());
            j.put("context", context);
            j.put("batch", batch);
            j.put("bytesPerToken", r.bytesPerToken());
            j.put("bytesPerSequence", r.bytesPerSequence());
            j.put("bytes", r.totalBytes());
            j.put("formula", r.formulas().get(0).symbolic());
            j.put("formulas", Output.formulas(r.formulas()));
            Output.json(out, j);
            return;
        }
        out.println(m.name() + " (" + r.attention() + "), KV " + p.id() + ", context " + context + ", batch " + batch + ":");
        Output.printFormulas(out, r.formulas());
        out.println("total: " + Units.gib(r.totalBytes()));
    }
}
