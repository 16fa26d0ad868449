package org.llmwb.runner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

@Command(name = "models", description = "List model presets with their architecture and derived parameter counts.")
final class ModelsCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ModelPresets.Preset p : ModelPresets.all()) {
            ModelConfig m = ModelPresets.of(p.id());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", p.id());
            r.put("name", p.displayName());
            r.put("hfId", p.hfId());
            r.put("attention", m.attention().name());
            r.put("layers", m.numLayers());
            r.put("hidden", m.hiddenSize());
            r.put("heads", m.numHeads());
            r.put("kvHeads", m.numKvHeads());
            r.put("experts", m.numExperts());
            r.put("params", m.totalParams());
            r.put("activeParams", m.activeParams());
            rows.add(r);
        }
        if (common.json) {
            Output.json(out, rows);
            return;
        }
        out.printf(Locale.ROOT, "%-16s %-5s %6s %6s %5s %4s %7s %10s %10s%n", "id", "attn", "layers", "hidden", "heads", "kv", "experts",
                "params", "active");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-16s %-5s %6d %6d %5d %4d %7d %9.2fB %9.2fB%n", r.get("id"), r.get("attention"), r.get("layers"),
                    r.get("hidden"), r.get("heads"), r.get("kvHeads"), r.get("experts"), ((Long) r.get("params")) / 1e9,
                    ((Long) r.get("activeParams")) / 1e9);
        }
    }
}
