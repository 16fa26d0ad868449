package org.llmwb.runner;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.engineview.LatencyCdf;
import org.llmwb.core.engineview.ServingComparison;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;
import org.llmwb.core.result.ResultWriter;
import org.llmwb.runner.http.BenchRun;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "compare", description = {"Put serving results side by side: a benchmark of a live endpoint (llmwb bench --out), engine runs and",
        "simulations (llmwb run folders of engine-run, serving-sim or bench experiments; llmwb simulate --json files) of the same",
        "workload, as one table with each metric's difference from the reference and TTFT/ITL CDFs of every source."})
final class CompareCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "2..*", paramLabel = "[LABEL=]SOURCE", description = "a result folder or a .json/.jsonl file; every serving record in it is one source (at least two in all)")
    List<String> sourceArgs;
    @Option(names = "--ref", defaultValue = "1", description = "the reference source, counted from 1 in the order listed (default: ${DEFAULT-VALUE}: put the measurement first)")
    int ref;
    @Option(names = "--tolerance", defaultValue = "5", description = "percent difference counted as agreement, marked ✗ beyond (default: ${DEFAULT-VALUE})")
    double tolerancePct;
    @Option(names = "--out", paramLabel = "DIR", description = "result folder: comparison.md, the sources' records in results.jsonl, summary.json (the table), ttft_cdf and itl_cdf (SVG, PNG)")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!(tolerancePct >= 0) || !Double.isFinite(tolerancePct)) {
            throw new InputException("--tolerance must be a percentage >= 0, not " + tolerancePct);
        }
        List<ServingComparison.Source> sources = new ArrayList<>();
        for (String a : sourceArgs) {
            sources.addAll(load(a));
        }
        if (sources.size() < 2) {
            throw new InputException("one serving record in all: a comparison needs two or more (give another folder or file)");
        }
        if (ref < 1 || ref > sources.size()) {
            throw new InputException("--ref " + ref + ": there are " + sources.size() + " sources (1.." + sources.size() + ")");
        }
        ServingComparison c = new ServingComparison(sources, ref - 1, tolerancePct / 100);
        var o = spec.commandLine().getOut();
        if (common.json) {
            Output.json(o, c.toMap());
        } else {
            o.print(c.text());
            for (String d : c.differences()) {
                o.println(d);
            }
        }
        o.flush();
        if (out != null) {
            try (ResultWriter w = ResultWriter.open(out)) {
                for (ServingComparison.Source s : sources) {
                    Map<String, Object> r = new LinkedHashMap<>(s.record());
                    r.put("source", s.label());
                    w.record(r);
                }
                StringBuilder md = new StringBuilder("# Serving comparison\n\n").append(c.markdown()).append('\n');
                for (String d : c.differences()) {
                    md.append("- ").append(d).append('\n');
                }
                w.file("comparison.md", md.toString());
                for (String metric : List.of("ttft_ms", "itl_ms")) {
                    BenchRun.plot(w, metric.replace("_ms", "") + "_cdf", c.cdf(metric));
                }
                Path done = w.commit(c.toMap(), EnvFingerprint.capture(Map.of("comparison", "reads result files; runs nothing")));
                spec.commandLine().getErr().println("wrote " + done + " (comparison.md, summary.json, ttft_cdf, itl_cdf)");
            }
        }
        return 0;
    }

    /** The serving records of one argument: {@code [LABEL=]PATH}, a folder or a .json/.jsonl file. */
    static List<ServingComparison.Source> load(String arg) {
        String label = null;
        String path = arg;
        int eq = arg.indexOf('=');
        if (eq > 0 && !arg.substring(0, eq).contains("/") && !Files.exists(Path.of(arg))) {
            label = arg.substring(0, eq);
            path = arg.substring(eq + 1);
        }
        Path p = Path.of(path);
        List<Map<String, Object>> recs = new ArrayList<>();
        if (Files.isDirectory(p)) {
            Path summary = p.resolve("summary.json");
            if (Files.isRegularFile(summary)) {
                Map<String, Object> s = object(summary);
                if (ServingComparison.isServingRecord(s)) {
                    recs.add(s);
                }
            }
            if (recs.isEmpty() && Files.isRegularFile(p.resolve("results.jsonl"))) {
                recs.addAll(lines(p.resolve("results.jsonl")));
            }
        } else if (Files.isRegularFile(p)) {
            if (p.toString().endsWith(".jsonl")) {
                recs.addAll(lines(p));
            } else {
                Map<String, Object> s = object(p);
                if (ServingComparison.isServingRecord(s)) {
                    recs.add(s);
                }
            }
        } else {
            throw new InputException(SourceLocation.of(path), "no such folder or file");
        }
        if (recs.isEmpty()) {
            throw new InputException(SourceLocation.of(path), "no serving records in it: a comparison reads records with ttft_ms_p50, itl_ms_p50, … — the folders of "
                    + "llmwb bench --out and of llmwb run on engine-run, serving-sim or bench experiments, or llmwb simulate --json output");
        }
        String base = label != null ? label : p.getFileName() == null ? path : p.getFileName().toString();
        List<ServingComparison.Source> out = new ArrayList<>();
        for (int i = 0; i < recs.size(); i++) {
            String l = recs.size() == 1 ? base : base + " " + LatencyCdf.label(i, recs.get(i));
            out.add(new ServingComparison.Source(l, recs.get(i)));
        }
        return out;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new InputException(SourceLocation.of(p.toString()), "not UTF-8 text");
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(p.toString()), "cannot read: " + e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Path p) {
        JsonNode n;
        try {
            n = Json.parse(read(p));
        } catch (IOException | RuntimeException e) {
            if (e instanceof InputException ie) {
                throw ie;
            }
            throw new InputException(SourceLocation.of(p.toString()), "not JSON: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) {
            throw new InputException(SourceLocation.of(p.toString()), "expected a JSON object");
        }
        return Json.MAPPER.convertValue(n, Map.class);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> lines(Path p) {
        List<Map<String, Object>> out = new ArrayList<>();
        String[] ls = read(p).split("\n", -1);
        for (int i = 0; i < ls.length; i++) {
            String line = ls[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode n;
            try {
                n = Json.parse(line);
            } catch (IOException | RuntimeException e) {
                throw new InputException(new SourceLocation(p.toString(), i + 1, 1), "not a JSON object: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            }
            if (n == null || !n.isObject()) {
                throw new InputException(new SourceLocation(p.toString(), i + 1, 1), "each line must be a JSON object");
            }
            Map<String, Object> m = Json.MAPPER.convertValue(n, Map.class);
            if (ServingComparison.isServingRecord(m)) {
                out.add(m);
            }
        }
        return out;
    }
}
