package org.llmwb.runner;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.engineview.ServingComparison;
import org.llmwb.core.engineview.ServingSources;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.ResultWriter;
import org.llmwb.runner.http.BenchRun;

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
            sources.addAll(ServingSources.load(a));
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
}
