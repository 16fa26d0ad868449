package org.llmwb.runner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.Units;
import org.llmwb.core.catalog.GpuSpec;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

@Command(name = "gpus", description = "List the GPU catalog (datasheet figures, dense; user entries marked).")
final class GpusCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (GpuSpec g : common.catalog().all()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", g.id());
            r.put("name", g.name());
            r.put("memoryBytes", g.memoryBytes());
            r.put("memoryBandwidth", g.memoryBandwidth());
            r.put("denseFlops", g.denseFlops());
            r.put("link", g.linkName());
            r.put("linkBandwidth", g.linkBandwidth());
            r.put("pcieBandwidth", g.pcieBandwidth());
            r.put("source", g.source());
            r.put("origin", g.origin());
            rows.add(r);
        }
        if (common.json) {
            Output.json(out, rows);
            return;
        }
        out.printf(Locale.ROOT, "%-10s %-32s %7s %7s %8s %8s %8s  %s%n", "id", "name", "GiB", "TB/s", "BF16", "FP8", "FP4", "origin");
        for (GpuSpec g : common.catalog().all()) {
            out.printf(Locale.ROOT, "%-10s %-32s %7.0f %7.2f %8.1f %8s %8s  %s%n", g.id(), g.name(), g.memoryBytes() / Units.GIB,
                    g.memoryBandwidth() / Units.TB, g.peak("bf16") / Units.TFLOPS, tf(g.peak("fp8")), tf(g.peak("fp4")),
                    g.isUserDefined() ? "user: " + g.origin() : "built-in (" + g.source() + ")");
        }
        out.println("TFLOP/s are dense (no 2:4 sparsity).");
    }

    private static String tf(double v) {
        return v == 0 ? "-" : String.format(Locale.ROOT, "%.1f", v / Units.TFLOPS);
    }
}
