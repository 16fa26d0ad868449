package org.llmwb.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.plot.KernelRoofline;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.RooflinePlot;
import org.llmwb.core.plot.SvgExport;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "kernel-report", description = "Render kernel benchmark results (bench.jsonl + env.json) as a roofline SVG and a markdown table.")
final class KernelReportCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "folder with bench.jsonl and env.json")
    Path dir;
    @Option(names = {"-g", "--gpu"}, description = "catalog GPU for the datasheet roofs (default: from env.json's device name)")
    String gpu;

    @Override
    public Integer call() throws IOException {
        Path bench = dir.resolve("bench.jsonl");
        Path envFile = dir.resolve("env.json");
        if (!Files.isRegularFile(bench) || !Files.isRegularFile(envFile)) {
            throw new InputException(SourceLocation.of(dir.toString()), "needs bench.jsonl and env.json (from KernelBench)");
        }
        JsonNode env = Json.parse(Files.readString(envFile));
        String name = env.at("/device/name").asText("");
        String id = gpu != null ? gpu : name.contains("H100") ? "h100-sxm" : name.contains("H200") ? "h200" : name.contains("A100") ? "a100-80gb" : null;
        if (id == null) {
            throw new InputException("cannot tell the catalog GPU for '" + name + "': pass --gpu");
        }
        GpuSpec g = common.catalog().get(id);
        List<JsonNode> rows = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(bench)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            try {
                rows.add(Json.parse(line));
            } catch (IOException e) {
                throw new InputException(new SourceLocation(bench.toString(), lineNo, 1), "not a JSON record: " + e.getMessage());
            }
        }
        StringBuilder md = new StringBuilder("| op | version | shape | median µs | GB/s | TFLOP/s | % of roof | max rel. error | speed-up vs PyTorch |\n")
                .append("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        List<Map<String, Object>> records = new ArrayList<>();
        for (JsonNode r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.1f | %.0f | %.2f | %s | %s | %s |%n", r.path("op").asText(), r.path("version").asText(),
                    r.path("shape").asText(), r.path("medianMs").asDouble() * 1e3, r.path("gbs").asDouble(), r.path("tflops").asDouble(),
                    pct(r.path("roofFraction")) + roofLabel(r.path("roof").asText()),
                    num(r.path("maxRelErr")), r.path("speedupVsTorch").isNumber()
                            ? String.format(Locale.ROOT, "%.2f× (%s %.1f µs)", r.path("speedupVsTorch").asDouble(), r.path("torchOp").asText(),
                                    r.path("torchMs").asDouble() * 1e3) : "–"));
            @SuppressWarnings("unchecked")
            Map<String, Object> m = Json.MAPPER.convertValue(r, Map.class);
            records.add(m);
        }
        Map<String, Double> peaks = new LinkedHashMap<>();
        peaks.put("BF16 mma.sync", env.at("/device/measuredBf16MmaSync").asDouble());
        if (env.at("/device/measuredBf16Wgmma").isNumber()) {
            peaks.put("BF16 wgmma", env.at("/device/measuredBf16Wgmma").asDouble());
        }
        peaks.put("FP32 FMA", env.at("/device/measuredFp32Fma").asDouble());
        PlotModel plot = KernelRoofline.plot(g, List.of("bf16", "fp32"), new RooflinePlot.Measured(env.at("/device/measuredCopyBandwidth").asDouble(), peaks, name),
                records, List.of("hover in the SVG for each record",
                        "llmwb " + env.path("llmwb").asText() + " · commit " + env.path("commit").asText() + " · " + env.path("time").asText()));
        Files.writeString(dir.resolve("roofline.svg"), SvgExport.render(plot, 1000, 720));
        Files.write(dir.resolve("roofline.png"), org.llmwb.core.plot.PngExport.render(plot, 1000, 720));
        Files.writeString(dir.resolve("summary.md"), md.toString());
        spec.commandLine().getOut().println("wrote " + dir.resolve("roofline.svg") + ", roofline.png and " + dir.resolve("summary.md") + " (" + rows.size() + " records)");
        return 0;
    }

    private static String roofLabel(String roof) {
        return switch (roof) {
            case "mma" -> " of mma.sync";
            case "wgmma" -> " of wgmma";
            case "copy" -> " of copy BW";
            default -> "";
        };
    }

    private static String pct(JsonNode n) {
        return n.isNumber() && !Double.isNaN(n.asDouble()) ? String.format(Locale.ROOT, "%.1f%%", 100 * n.asDouble()) : "–";
    }

    private static String num(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.1e", n.asDouble()) : "–";
    }
}
