package org.llmwb.runner;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.llmwb.backend.cpu.nd4j.CpuKernelSweep;
import org.llmwb.backend.cuda.CudaProbe;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.bench.KernelSweepRun;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.experiment.CalculatorRun;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.plot.CsvExport;
import org.llmwb.core.plot.KernelRoofline;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.RooflinePlot;
import org.llmwb.core.plot.SvgExport;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.ResultWriter;

/**
 * Runs one validated experiment, streaming records to {@link Events} and, when an output folder is
 * given, writing the result directory (committed only when the run completes; a cancelled or
 * failed run leaves nothing behind). Used by {@code llmwb run} and by the protocol server, so both
 * produce the same directory.
 */
final class ExperimentExecutor {
    interface Events {
        void started(long total);

        void record(long index, long total, Map<String, Object> record);

        void progress(long done, long total);

        /** An engine step of point {@code point} (engine runs only). */
        default void step(long point, com.fasterxml.jackson.databind.node.ObjectNode step) {
        }
    }

    record Outcome(String status, long records, long total, Path out, Map<String, Object> summary) {
    }

    private ExperimentExecutor() {
    }

    /** What runs the points of one experiment kind, and the device its env.json names. */
    private record Body(long total, Runner runner, Supplier<Map<String, Object>> device, java.util.function.Consumer<ResultWriter> extraFiles) {
        interface Runner {
            long run(CalculatorRun.Sink sink, BooleanSupplier cancelled);
        }

        Body(long total, Runner runner, Supplier<Map<String, Object>> device) {
            this(total, runner, device, w -> {
            });
        }
    }

    /**
     * @param backend "cuda", "cpu" or "auto"/null (the experiment's {@code backend}, else the GPU when there is one
     *        and the CPU otherwise); only kernel sweeps have a backend
     */
    static Outcome run(Experiment e, String experimentText, GpuCatalog gpus, Path out, Events events, BooleanSupplier cancelled, String backend) {
        if ("engine-run".equals(e.kind())) {
            return engine(e, experimentText, gpus, out, events, cancelled, backend);
        }
        if ("serving-sim".equals(e.kind())) {
            org.llmwb.engine.sim.SimSweep sim = new org.llmwb.engine.sim.SimSweep(e, gpus);
            return execute(e, experimentText, gpus, out, events, cancelled, new Body(sim.total(), (sink, c) -> sim.run(sink::record, c), () -> {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("kind", "simulated");
                d.put("note", "a discrete-event simulation on this machine's CPU of the engine's scheduler on a roofline step-time model; no GPU runs");
                return d;
            }));
        }
        if ("bench".equals(e.kind())) {
            return bench(e, experimentText, gpus, out, events, cancelled);
        }
        if ("kernel-sweep".equals(e.kind())) {
            if (e.sweep().sweep().containsKey("backend")) {
                throw new InputException(e.location(), "'backend' cannot be swept: one run measures one device against its own roofs");
            }
            String b = backend != null && !backend.equals("auto") ? backend : String.valueOf(e.sweep().base().getOrDefault("backend", "auto"));
            CudaProbe.Result probe = CudaProbe.probe();
            if (b.equals("cuda") && !probe.available()) {
                throw new InputException(e.location(), "backend cuda runs our CUDA kernels and needs a GPU, but there is none here ("
                        + probe.reason() + "); use backend: cpu (or auto) to run the sweep through ND4J on the CPU");
            }
            if (b.equals("cpu") || !probe.available()) {
                CpuKernelSweep run = new CpuKernelSweep(e);
                return execute(e, experimentText, gpus, out, events, cancelled, new Body(run.total(), (sink, c) -> run.run(sink::record, c), () -> {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("kind", "cpu");
                    d.put("name", run.ceilings().device());
                    d.put("measuredCopyBandwidth", run.ceilings().copyBandwidth());
                    d.put("measuredFp32Gemm", run.ceilings().fp32Gemm());
                    d.put("note", b.equals("cpu") ? "backend: cpu" : "no GPU here (" + probe.reason() + "): ran on the CPU through ND4J");
                    return d;
                }));
            }
            try (Gpu gpu = Gpu.open()) {
                KernelSweepRun run = new KernelSweepRun(gpu, e);
                return execute(e, experimentText, gpus, out, events, cancelled, new Body(run.total(), (sink, c) -> run.run(sink::record, c), () -> {
                    Map<String, Object> d = probe.describe();
                    d.put("measuredCopyBandwidth", run.ceilings().copyBandwidth());
                    d.put("measuredFp32Fma", run.ceilings().fp32Fma());
                    d.put("measuredBf16MmaSync", run.ceilings().bf16MmaSync());
                    if (!Double.isNaN(run.ceilings().bf16Wgmma())) {
                        d.put("measuredBf16Wgmma", run.ceilings().bf16Wgmma());
                    }
                    return d;
                }));
            }
        }
        CalculatorRun run = new CalculatorRun(e, gpus);
        return execute(e, experimentText, gpus, out, events, cancelled, new Body(run.total(), run::run, () -> {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("kind", "none");
            d.put("note", "calculator experiments run on the CPU from datasheet figures");
            return d;
        }));
    }

    /**
     * {@code kind: bench}: each point loads the endpoint as {@code llmwb bench} does and records the point's summary
     * (engine-run field names, the Latency view's CDFs); the result folder also gets each point's requests and the
     * TTFT/ITL CDF and Pareto plots.
     */
    private static Outcome bench(Experiment e, String experimentText, GpuCatalog gpus, Path out, Events events, BooleanSupplier cancelled) {
        String load = e.sweep().target();
        if (load.equals("trace") && (e.sweep().sweep().containsKey("rate") || e.sweep().sweep().containsKey("concurrency"))) {
            throw new InputException(e.location(), "load: trace replays the trace's own arrivals: 'rate' and 'concurrency' cannot be swept");
        }
        List<Map<String, Object>> points = new ArrayList<>();
        List<String> requestFiles = new ArrayList<>();
        double[] gpusBehind = {1};
        Body body = new Body(e.sweep().points(), (sink, c) -> e.sweep().walk(c, (index, p) -> {
            double g = p.containsKey("gpus") ? ((Number) p.get("gpus")).doubleValue() : 1;
            gpusBehind[0] = g;
            java.net.URI base = org.llmwb.runner.http.BenchRun.url(String.valueOf(p.get("url")), e.location());
            int conc = p.containsKey("concurrency") ? ((Number) p.get("concurrency")).intValue() : load.equals("concurrency") ? 1 : 0;
            double rate = load.equals("rate") ? ((Number) p.get("rate")).doubleValue() : 0;
            if (intOr(p, "turns", 1) > 1 && (!load.equals("concurrency") || "completions".equals(p.get("endpoint")))) {
                throw new InputException(e.location(), "'turns' holds conversations: it needs load: concurrency and endpoint: chat");
            }
            org.llmwb.runner.http.BenchRun.Settings st = new org.llmwb.runner.http.BenchRun.Settings(base, String.valueOf(p.get("model")),
                    !"completions".equals(p.get("endpoint")), !Boolean.FALSE.equals(p.get("stream")), System.getenv("OPENAI_API_KEY"), intOr(p, "requests", 0),
                    dblOr(p, "durationS", 0), conc, rate, dblOr(p, "burstiness", 1), intOr(p, "warmup", 2), p.containsKey("seed") ? ((Number) p.get("seed")).longValue() : 1,
                    intOr(p, "inputTokens", 128), intOr(p, "outputTokens", 64), !Boolean.FALSE.equals(p.get("ignoreEos")),
                    p.containsKey("tokenizer") ? Path.of(String.valueOf(p.get("tokenizer"))) : null,
                    load.equals("trace") ? Path.of(String.valueOf(p.get("trace"))) : null, g, dblOr(p, "sloTtftMs", 0), dblOr(p, "sloTpotMs", 0),
                    dblOr(p, "timeoutS", 600), rate > 0 ? dblOr(p, "rampTo", 0) : 0, intOr(p, "sharedPrefix", 0),
                    p.containsKey("promptFile") ? Path.of(String.valueOf(p.get("promptFile"))) : null, load.equals("concurrency") ? intOr(p, "turns", 1) : 1,
                    dblOr(p, "thinkS", 0));
            org.llmwb.runner.http.BenchRun.Point pt;
            try {
                pt = org.llmwb.runner.http.BenchRun.run(st, org.llmwb.runner.http.BenchRun.workload(st), r -> {
                });
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", ex);
            }
            if (pt.measured() > 0 && pt.errors() == pt.measured()) {
                String first = pt.results().stream().filter(r -> !r.warmup() && !r.ok()).map(org.llmwb.runner.http.BenchClient.Result::error).findFirst().orElse("");
                throw new InputException(e.location(), "every request to " + base + " failed (point " + (index + 1) + "): " + first);
            }
            Map<String, Object> rec = new LinkedHashMap<>(p);
            rec.putAll(pt.summary());
            points.add(rec);
            StringBuilder sb = new StringBuilder();
            pt.results().forEach(q -> sb.append(org.llmwb.core.result.Json.line(org.llmwb.runner.http.BenchRun.requestRecord(q))).append('\n'));
            requestFiles.add(sb.toString());
            sink.record(index, e.sweep().points(), rec);
        }), () -> {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("kind", "endpoint");
            d.put("url", String.valueOf(e.sweep().base().getOrDefault("url", "(swept)")));
            d.put("note", "measured by llmwb bench's client from this machine; the endpoint's hardware is whatever serves that URL");
            return d;
        }, w -> {
            for (int i = 0; i < requestFiles.size(); i++) {
                w.file("requests-" + (i + 1) + ".jsonl", requestFiles.get(i));
            }
            if (!points.isEmpty()) {
                org.llmwb.runner.http.BenchRun.plots(w, points);
                if (points.size() > 1) {
                    String key = e.sweep().sweep().keySet().stream().findFirst().orElse("concurrency");
                    org.llmwb.runner.http.BenchRun.plot(w, "pareto", org.llmwb.core.engineview.ServingPlots.pareto(points, gpusBehind[0], key));
                }
            }
        });
        return execute(e, experimentText, gpus, out, events, cancelled, body);
    }

    private static int intOr(Map<String, Object> p, String k, int dflt) {
        return p.get(k) instanceof Number n ? n.intValue() : dflt;
    }

    private static double dblOr(Map<String, Object> p, String k, double dflt) {
        return p.get(k) instanceof Number n ? n.doubleValue() : dflt;
    }

    private static Outcome engine(Experiment e, String experimentText, GpuCatalog gpus, Path out, Events events, BooleanSupplier cancelled, String backend) {
        String b = backend != null && !backend.equals("auto") ? backend : String.valueOf(e.sweep().base().getOrDefault("backend", "auto"));
        CudaProbe.Result probe = CudaProbe.probe();
        if (b.equals("cuda") && !probe.available()) {
            throw new InputException(e.location(), "backend cuda runs the engine on our CUDA kernels and needs a GPU, but there is none here ("
                    + probe.reason() + "); use backend: cpu (or auto) to run the engine on the CPU through ND4J");
        }
        String chosen = b.equals("cpu") || !probe.available() ? "cpu" : "cuda";
        try (org.llmwb.engine.run.EngineSweep run = new org.llmwb.engine.run.EngineSweep(e, chosen)) {
            return execute(e, experimentText, gpus, out, events, cancelled, new Body(run.total(),
                (sink, c) -> run.run(sink::record, (point, step) -> events.step(point, step.toJson()), c), () -> {
                    Map<String, Object> d = chosen.equals("cuda") ? probe.describe() : new LinkedHashMap<>();
                    d.put("kind", chosen);
                    d.put("name", run.device());
                    d.put("note", b.equals("auto") ? "backend auto chose " + chosen + (probe.available() ? "" : " (no GPU: " + probe.reason() + ")") : "backend: " + b);
                    return d;
                }, w -> {
                    for (org.llmwb.engine.run.EngineSweep.PointFiles f : run.files()) {
                        String n = String.valueOf(f.index() + 1);
                        w.file("latency-" + n + ".txt", f.latencyTable());
                        w.file("requests-" + n + ".csv", requestsCsv(f.requests()));
                        StringBuilder sb = new StringBuilder();
                        for (org.llmwb.engine.StepEvent st : f.steps()) {
                            sb.append(org.llmwb.core.result.Json.line(st.toJson())).append('\n');
                        }
                        w.file("steps-" + n + ".jsonl", sb.toString());
                    }
                }));
        }
    }

    static String requestsCsv(List<org.llmwb.engine.metrics.RequestMetrics> reqs) {
        StringBuilder b = new StringBuilder("id,arrival_s,prompt_tokens,cached_prompt_tokens,output_tokens,ttft_ms,time_to_second_token_ms,tpot_ms,"
                + "latency_ms,itl_max_ms,preemptions,finish\n");
        for (org.llmwb.engine.metrics.RequestMetrics r : reqs) {
            double itlMax = java.util.Arrays.stream(r.itl()).max().orElse(Double.NaN);
            b.append(String.format(java.util.Locale.ROOT, "%d,%.6f,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%s%n", r.id(), r.arrival(), r.promptTokens(),
                    r.cachedPromptTokens(), r.outputTokens(), r.ttft() * 1e3, r.timeToSecondToken() * 1e3, r.tpot() * 1e3, r.latency() * 1e3, itlMax * 1e3,
                    r.preemptions(), r.finishReason()));
        }
        return b.toString().replace("NaN", "");
    }

    private static Outcome execute(Experiment e, String experimentText, GpuCatalog gpus, Path out, Events events, BooleanSupplier cancelled,
            Body run) {
        long total = run.total();
        Instant t0 = Instant.now();
        events.started(total);
        List<Map<String, Object>> roofPoints = new ArrayList<>();
        boolean roofline = "calculator".equals(e.kind()) && "roofline".equals(e.sweep().target());
        boolean kernels = "kernel-sweep".equals(e.kind());
        long step = Math.max(1, total / 100);
        try (ResultWriter w = out == null ? null : ResultWriter.open(out)) {
            long[] lastProgress = {System.nanoTime()};
            long n = run.runner().run((i, tot, rec) -> {
                if (w != null) {
                    w.record(rec);
                }
                if ((roofline || kernels) && roofPoints.size() < 2000) {
                    roofPoints.add(rec);
                }
                events.record(i, tot, rec);
                long now = System.nanoTime();
                if ((i + 1) % step == 0 || now - lastProgress[0] > 200_000_000L || i + 1 == tot) {
                    lastProgress[0] = now;
                    events.progress(i + 1, tot);
                }
            }, cancelled);
            String status = n == total ? "ok" : "cancelled";
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("experiment", e.name());
            summary.put("kind", e.kind());
            summary.put("target", e.sweep().target());
            summary.put("status", status);
            summary.put("records", n);
            summary.put("total", total);
            summary.put("started", t0.toString());
            summary.put("durationMs", Duration.between(t0, Instant.now()).toMillis());
            Path written = null;
            if (w != null && status.equals("ok")) {
                w.file("experiment.yaml", experimentText);
                run.extraFiles().accept(w);
                if ((roofline || kernels) && !roofPoints.isEmpty()) {
                    PlotModel plot = roofline ? rooflineOf(roofPoints, gpus)
                            : KernelRoofline.forRecords(gpus, roofPoints, List.of("experiment " + e.name() + " · " + roofPoints.size() + " records"));
                    w.file("roofline.svg", SvgExport.render(plot, 900, 640));
                    w.file("roofline.csv", CsvExport.render(plot));
                    try {
                        w.bytes("roofline.png", org.llmwb.core.plot.PngExport.render(plot, 900, 640));
                    } catch (LinkageError noAwt) {
                        // a trimmed Java runtime without java.desktop (e.g. on a GPU server): keep the SVG and CSV, say why there is no PNG
                        summary.put("rooflinePng", "skipped: this Java runtime has no java.desktop module (" + noAwt.getMessage() + ")");
                    }
                }
                written = w.commit(summary, EnvFingerprint.capture(run.device().get()));
                summary.put("out", written.toString());
            }
            return new Outcome(status, n, total, written, summary);
        }
    }

    /** All decode and prefill points of a roofline sweep on the first record's GPU roofs. */
    static PlotModel rooflineOf(List<Map<String, Object>> records, GpuCatalog gpus) {
        GpuSpec g = gpus.get((String) records.get(0).get("gpu"));
        List<PlotModel.Marker> markers = new ArrayList<>();
        java.util.Set<String> keys = new java.util.LinkedHashSet<>();
        for (Map<String, Object> r : records) {
            for (String phase : List.of("decode", "prefill")) {
                double ai = ((Number) r.get(phase + "Intensity")).doubleValue();
                double att = ((Number) r.get(phase + "AttainableFlops")).doubleValue();
                Map<String, String> d = new LinkedHashMap<>();
                for (String k : List.of("model", "gpu", "precision", "batch", "context", "prompt")) {
                    d.put(k, String.valueOf(r.get(k)));
                }
                d.put("time bound (s)", String.valueOf(r.get(phase + "TimeBound")));
                markers.add(new PlotModel.Marker(phase, phase + " b" + r.get("batch"), ai, att / 1e12, phase.equals("decode") ? "circle" : "square",
                        phase.equals("decode") ? 0 : 1, d));
            }
            keys.add(g.computeKeyFor(org.llmwb.core.catalog.Precision.parse((String) r.get("precision"))));
        }
        return RooflinePlot.of(g, new ArrayList<>(keys), markers, List.of(records.size() + " sweep points"));
    }
}
