package org.llmwb.runner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.llmwb.core.Units;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plot.CsvExport;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.RooflinePlot;
import org.llmwb.core.plot.SvgExport;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "roofline", description = "Arithmetic intensity, attainable FLOP/s and time bounds of a model's decode and prefill steps on a GPU.")
final class RooflineCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelGpuOptions target;
    @Option(names = "--batch", defaultValue = "1", description = "sequences per step (default: ${DEFAULT-VALUE})")
    long batch;
    @Option(names = "--context", defaultValue = "2048", description = "cached tokens per sequence during decode (default: ${DEFAULT-VALUE})")
    long context;
    @Option(names = "--prompt", defaultValue = "2048", description = "prompt tokens per sequence for prefill (default: ${DEFAULT-VALUE})")
    long prompt;
    @Option(names = "--svg", paramLabel = "FILE", description = "also write the roofline chart as SVG")
    Path svg;
    @Option(names = "--csv", paramLabel = "FILE", description = "also write the chart's points as CSV")
    Path csv;
    @Option(names = "--png", paramLabel = "FILE", description = "also write the roofline chart as PNG (headless)")
    Path png;

    @Override
    public void run() {
        ModelConfig m = target.model();
        GpuSpec g = target.gpu(common.catalog());
        Precision w = target.weights();
        Precision kv = target.kv();
        InferenceCost.Step d = InferenceCost.decode(m, g, w, kv, batch, context);
        InferenceCost.Step p = InferenceCost.prefill(m, g, w, kv, batch, prompt);
        PlotModel plot = RooflinePlot.forModel(m, g, w, kv, batch, context, prompt);
        try {
            if (svg != null) {
                Files.writeString(svg, SvgExport.render(plot, 900, 640));
            }
            if (png != null) {
                Files.write(png, org.llmwb.core.plot.PngExport.render(plot, 900, 640));
            }
            if (csv != null) {
                Files.writeString(csv, CsvExport.render(plot));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var out = spec.commandLine().getOut();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m.name());
            j.put("gpu", g.id());
            j.put("precision", w.id());
            j.put("computeKey", d.computeKey());
            j.put("peakFlops", d.peak());
            j.put("bandwidth", d.bandwidth());
            j.put("ridge", d.peak() / d.bandwidth());
            j.put("batch", batch);
            j.put("decode", step(d));
            j.put("prefill", step(p));
            j.put("decodeTokensPerSecondBound", batch / d.timeBound());
            Output.json(out, j);
            return;
        }
        out.println(m.name() + " on " + g.name() + " (" + d.computeKey() + " peak " + Units.format(d.peak(), "FLOP/s") + ", "
                + Units.format(d.bandwidth(), "B/s") + "), batch " + batch + ":");
        out.println("decode (context " + context + "):");
        Output.printFormulas(out, d.formulas());
        out.println("prefill (prompt " + prompt + "):");
        Output.printFormulas(out, p.formulas());
    }

    private static Map<String, Object> step(InferenceCost.Step s) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("flops", s.flops());
        j.put("bytes", s.bytes());
        j.put("intensity", s.intensity());
        j.put("attainableFlops", s.attainable());
        j.put("timeBound", s.timeBound());
        j.put("boundBy", s.memoryBound() ? "memory" : "compute");
        j.put("formulas", Output.formulas(s.formulas()));
        return j;
    }
}
