package org.llmwb.runner;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.core.engineview.ServingPlots;
import org.llmwb.core.result.ResultWriter;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.tokenizer.BpeTokenizer;
import org.llmwb.runner.http.BenchClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", description = {"Benchmark an OpenAI-compatible endpoint (vLLM, SGLang, TensorRT-LLM, Dynamo, llmwb serve, ...): send requests at a",
        "fixed concurrency or request rate, stream the answers, and report TTFT, time to second token, ITL, TPOT, request latency, per-user",
        "tokens/s, output and request throughput and goodput, with avg/min/max/p99/p90/p75/std — the same names as engine-run records."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--url", required = true, description = "the API base, e.g. http://localhost:8000/v1")
    String url;
    @Option(names = "--model", required = true, description = "the model id the endpoint serves")
    String model;
    @Option(names = "--endpoint", defaultValue = "chat", description = "chat or completions (default: ${DEFAULT-VALUE})")
    String endpoint;
    @Option(names = "--stream", negatable = true, defaultValue = "true", fallbackValue = "true", description = "stream the answers (SSE; default) or not (--no-stream)")
    boolean stream;
    @Option(names = "--concurrency", defaultValue = "0", description = "requests in flight: closed loop at this concurrency, or the cap under --request-rate")
    int concurrency;
    @Option(names = "--request-rate", defaultValue = "0", description = "requests per second, Poisson arrivals (0: closed loop at --concurrency)")
    double rate;
    @Option(names = "--burstiness", defaultValue = "1", description = "gamma shape of the arrival gaps (1 = Poisson; < 1 burstier)")
    double burstiness;
    @Option(names = "--num-requests", defaultValue = "0", description = "requests to send (default 100 unless --duration is given)")
    int numRequests;
    @Option(names = "--duration", defaultValue = "0", description = "stop sending after this many seconds")
    double duration;
    @Option(names = "--warmup", defaultValue = "2", description = "requests sent first and left out of the figures (default: ${DEFAULT-VALUE})")
    int warmup;
    @Option(names = "--input-tokens", defaultValue = "128", description = "prompt length in tokens (default: ${DEFAULT-VALUE})")
    int inputTokens;
    @Option(names = "--output-tokens", defaultValue = "64", description = "max_tokens of each request (default: ${DEFAULT-VALUE})")
    int outputTokens;
    @Option(names = "--ignore-eos", negatable = true, defaultValue = "true", fallbackValue = "true", description = "send ignore_eos so every answer has --output-tokens (vLLM, SGLang, llmwb; default on)")
    boolean ignoreEos;
    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "the endpoint's tokenizer: prompts of exactly --input-tokens tokens")
    Path tokenizer;
    @Option(names = "--api-key-env", defaultValue = "OPENAI_API_KEY", description = "environment variable holding the API key, if any (default: ${DEFAULT-VALUE})")
    String apiKeyEnv;
    @Option(names = "--slo-ttft-ms", defaultValue = "0", description = "goodput objective for TTFT (0: none)")
    double sloTtftMs;
    @Option(names = "--slo-tpot-ms", defaultValue = "0", description = "goodput objective for TPOT (0: none)")
    double sloTpotMs;
    @Option(names = "--timeout", defaultValue = "600", description = "seconds a request may take (default: ${DEFAULT-VALUE})")
    double timeout;
    @Option(names = "--seed", defaultValue = "1", description = "seeds prompts and arrival times (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--out", paramLabel = "DIR", description = "result folder: results.jsonl (one record per request; per point in a sweep), summary.json, env.json, results.csv, plots (SVG and PNG)")
    Path out;
    @Option(names = "--trace", paramLabel = "FILE", description = {"replay a request trace on its own clock (JSON lines: Mooncake's timestamp/input_length/output_length/hash_ids,",
        "or arrival/promptTokens/outputTokens): each request's prompt length, max_tokens and arrival; shared hash_ids give shared prompt prefixes"})
    Path trace;
    @Option(names = "--sweep", paramLabel = "KEY=V1,V2,...", description = "run one point per value of concurrency or request-rate, e.g. concurrency=1,2,4,8, and plot the Pareto frontier")
    String sweep;
    @Option(names = "--gpus", defaultValue = "1", description = "GPUs behind the endpoint, for throughput per GPU (default: ${DEFAULT-VALUE})")
    double gpus;

    @Override
    public Integer call() throws Exception {
        URI base;
        try {
            base = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new InputException("--url '" + url + "' is not a URL");
        }
        if (base.getScheme() == null || !List.of("http", "https").contains(base.getScheme()) || base.getHost() == null) {
            throw new InputException("--url must be http:// or https:// with a host, e.g. http://localhost:8000/v1 (got '" + url + "')");
        }
        if (!List.of("chat", "completions").contains(endpoint)) {
            throw new InputException("--endpoint is chat or completions, not '" + endpoint + "'");
        }
        if (concurrency < 0 || rate < 0 || numRequests < 0 || duration < 0 || warmup < 0 || inputTokens < 1 || outputTokens < 1 || !(timeout > 0) || !(burstiness > 0)) {
            throw new InputException("--concurrency, --request-rate, --num-requests, --duration and --warmup must be >= 0; --input-tokens, --output-tokens, "
                    + "--timeout and --burstiness > 0");
        }
        if (rate == 0 && concurrency == 0 && trace == null && sweep == null) {
            concurrency = 1;
        }
        int requests = numRequests > 0 ? numRequests : duration > 0 ? 0 : 100;
        if (out != null && Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
            throw new InputException(SourceLocation.of(out.toString()), "--out must be a new or empty folder");
        }
        if (!(gpus > 0)) {
            throw new InputException("--gpus must be > 0");
        }
        String sweepKey = null;
        double[] sweepValues = null;
        if (sweep != null) {
            int eq = sweep.indexOf('=');
            sweepKey = eq < 0 ? sweep : sweep.substring(0, eq).strip();
            if (eq < 0 || !List.of("concurrency", "request-rate").contains(sweepKey)) {
                throw new InputException("--sweep takes concurrency=V1,V2,... or request-rate=V1,V2,... (got '" + sweep + "')");
            }
            try {
                sweepValues = java.util.Arrays.stream(sweep.substring(eq + 1).split(",")).map(String::strip).mapToDouble(Double::parseDouble).toArray();
            } catch (NumberFormatException e) {
                throw new InputException("--sweep " + sweep + ": the values must be numbers separated by commas");
            }
            for (double v : sweepValues) {
                if (!(v > 0) || sweepKey.equals("concurrency") && v != Math.rint(v)) {
                    throw new InputException("--sweep " + sweep + ": every value must be > 0" + (sweepKey.equals("concurrency") ? " and whole" : ""));
                }
            }
            if (trace != null) {
                throw new InputException("--sweep and --trace do not combine: a trace sets its own arrivals");
            }
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter o = spec.commandLine().getOut();
        List<BenchClient.Prompt> prompts;
        double[] schedule = null;
        if (trace != null) {
            prompts = new ArrayList<>();
            schedule = tracePrompts(prompts);
            requests = numRequests > 0 ? Math.min(numRequests, prompts.size() - warmup) : prompts.size() - warmup;
            if (requests < 1) {
                throw new InputException(SourceLocation.of(trace.toString()), prompts.size() + " requests: none left after " + warmup + " warm-up request(s)");
            }
            // warm-up requests are the trace's first ones; the schedule replays the rest from 0
            double[] rest = java.util.Arrays.copyOfRange(schedule, warmup, schedule.length);
            double first = rest.length > 0 ? rest[0] : 0;
            for (int i = 0; i < rest.length; i++) {
                rest[i] -= first;
            }
            schedule = rest;
        } else {
            prompts = prompts(requests > 0 ? requests + warmup : 10_000);
        }
        BenchClient client = new BenchClient(new BenchClient.Config(base, model, endpoint.equals("chat"), stream, System.getenv(apiKeyEnv), outputTokens, ignoreEos,
                Duration.ofMillis((long) (timeout * 1000))));
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("client", "llmwb bench");
        env.put("java", System.getProperty("java.version"));
        env.put("cpus", Runtime.getRuntime().availableProcessors());
        env.put("time", java.time.OffsetDateTime.now().toString());
        if (sweepValues == null) {
            Point p = point(client, prompts, requests, concurrency, rate, schedule, err);
            print(o, p);
            if (out != null) {
                try (ResultWriter w = ResultWriter.open(out)) {
                    for (BenchClient.Result r : p.results()) {
                        w.record(requestRecord(r));
                    }
                    plots(w, List.of(p.summary()), "");
                    plot(w, "throughput", ServingPlots.throughputOverTime(p.tokenTimes(), Math.max(0.1, p.metrics().durationS() / 60)));
                    o.println("results in " + w.commit(p.summary(), env));
                }
            }
            o.flush();
            return p.errors() == p.measured() && p.measured() > 0 ? 1 : 0;
        }
        List<Map<String, Object>> points = new ArrayList<>();
        ResultWriter w = out == null ? null : ResultWriter.open(out);
        try {
            for (double v : sweepValues) {
                int c = sweepKey.equals("concurrency") ? (int) v : concurrency;
                double r = sweepKey.equals("request-rate") ? v : 0;
                Point p = point(client, prompts, requests, c, r, null, err);
                print(o, p);
                points.add(p.summary());
                if (w != null) {
                    w.record(p.summary());
                    StringBuilder sb = new StringBuilder();
                    p.results().forEach(q -> sb.append(Json.line(requestRecord(q))).append('\n'));
                    w.file("requests-" + sweepKey + "-" + fmt(v) + ".jsonl", sb.toString());
                }
            }
            String key = sweepKey.equals("concurrency") ? "concurrency" : "requestRate";
            o.println();
            o.printf(Locale.ROOT, "%-12s %14s %16s %12s %12s %8s%n", key, "out tok/s/GPU", "tok/s/user p50", "TTFT p50 ms", "ITL p50 ms", "errors");
            List<double[]> xy = new ArrayList<>();
            for (Map<String, Object> p : points) {
                xy.add(new double[] {num(p.get("user_tokens_per_s_p50")), num(p.get("outputTokensPerS")) / gpus});
            }
            List<double[]> front = ServingPlots.frontier(xy);
            for (int i = 0; i < points.size(); i++) {
                Map<String, Object> p = points.get(i);
                o.printf(Locale.ROOT, "%-12s %14.1f %16.1f %12.1f %12.2f %8s%s%n", fmt(sweepValues[i]), xy.get(i)[1], xy.get(i)[0], num(p.get("ttft_ms_p50")),
                        num(p.get("itl_ms_p50")), p.get("errors"), front.contains(xy.get(i)) ? "  (frontier)" : "");
            }
            if (w != null) {
                plots(w, points, key);
                plot(w, "pareto", ServingPlots.pareto(points, gpus, key));
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("kind", "bench-sweep");
                summary.put("url", url);
                summary.put("model", model);
                summary.put("sweep", sweepKey);
                summary.put("values", sweepValues);
                summary.put("gpus", gpus);
                List<Object> f = new ArrayList<>();
                for (int i = 0; i < points.size(); i++) {
                    if (front.contains(xy.get(i))) {
                        f.add(points.get(i).get(key));
                    }
                }
                summary.put("paretoFrontier", f);
                o.println("results in " + w.commit(summary, env));
            }
        } finally {
            if (w != null) {
                w.close();
            }
        }
        o.flush();
        return 0;
    }

    /** One load point: its requests, its figures and the flat summary record (engine-run field names, 101-quantile CDFs). */
    record Point(List<BenchClient.Result> results, RunMetrics metrics, Map<String, Object> summary, long errors, int measured, double[] tokenTimes) {
    }

    private Point point(BenchClient client, List<BenchClient.Prompt> prompts, int requests, int conc, double reqRate, double[] schedule, PrintWriter err)
            throws InterruptedException {
        if (reqRate == 0 && conc == 0 && schedule == null) {
            conc = 1;
        }
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long t0 = System.nanoTime();
        String total = requests > 0 ? String.valueOf(requests + warmup) : "?";
        List<BenchClient.Result> results = client.run(new BenchClient.Load(requests, duration, conc, reqRate, burstiness, warmup, seed, schedule),
                i -> prompts.get(i % prompts.size()), r -> {
                    int n = done.incrementAndGet();
                    if (!r.ok()) {
                        failed.incrementAndGet();
                    }
                    synchronized (err) {
                        err.printf(Locale.ROOT, "\r  %d/%s requests, %d errors, %.1f s", n, total, failed.get(), (System.nanoTime() - t0) / 1e9);
                        err.flush();
                    }
                });
        err.println();
        List<BenchClient.Result> measured = results.stream().filter(r -> !r.warmup()).toList();
        List<RequestMetrics> ok = measured.stream().filter(BenchClient.Result::ok).map(BenchClient.Result::metrics).toList();
        double start = measured.stream().mapToDouble(BenchClient.Result::sent).min().orElse(0);
        double end = measured.stream().mapToDouble(BenchClient.Result::done).max().orElse(0);
        RunMetrics m = RunMetrics.of(ok, end - start, sloTtftMs / 1e3, sloTpotMs / 1e3);
        long errors = measured.stream().filter(r -> !r.ok()).count();
        @SuppressWarnings("unchecked")
        Map<String, Object> summary = Json.MAPPER.convertValue(m.toJson(), Map.class);
        Map<String, Object> flat = new LinkedHashMap<>();
        flat.put("kind", "bench");
        flat.put("url", url);
        flat.put("model", model);
        flat.put("endpoint", endpoint);
        flat.put("stream", stream);
        flat.put("load", schedule != null ? "trace " + trace.getFileName() : reqRate > 0 ? "request-rate" : "concurrency");
        flat.put("concurrency", conc);
        flat.put("requestRate", reqRate);
        flat.put("inputTokens", schedule != null ? null : inputTokens);
        flat.put("outputTokens", schedule != null ? null : outputTokens);
        flat.put("requests", measured.size());
        flat.put("errors", errors);
        flat.put("gpus", gpus);
        flat.putAll(summary);
        m.table().forEach((k, st) -> {
            flat.put(k + "_avg", st.avg());
            flat.put(k + "_p50", st.p50());
            flat.put(k + "_p90", st.p90());
            flat.put(k + "_p99", st.p99());
        });
        flat.put("outputTokensPerSPerGpu", m.outputTokensPerS() / gpus);
        flat.put("cdf", RunMetrics.cdfs(ok));
        double[] times = measured.stream().filter(BenchClient.Result::ok).flatMapToDouble(r -> java.util.Arrays.stream(r.chunks())).map(t -> t - start).toArray();
        return new Point(results, m, flat, errors, measured.size(), times);
    }

    private void print(PrintWriter o, Point p) {
        Map<String, Object> s = p.summary();
        o.printf(Locale.ROOT, "%s %s at %s (%s, %s, %s): %d requests, %d errors, %d warm-up%n", model, endpoint, url, stream ? "streaming" : "not streaming",
                s.get("load").toString().startsWith("trace") ? s.get("load")
                        : num(s.get("requestRate")) > 0 ? String.format(Locale.ROOT, "%.3g req/s%s", num(s.get("requestRate")),
                                num(s.get("concurrency")) > 0 ? " capped at " + s.get("concurrency") : "") : "concurrency " + s.get("concurrency"),
                trace != null ? "trace lengths" : inputTokens + " in / " + outputTokens + " out", p.measured(), p.errors(), warmup);
        o.print(p.metrics().text());
        Map<String, Long> byError = new LinkedHashMap<>();
        p.results().stream().filter(r -> !r.warmup() && !r.ok()).forEach(r -> byError.merge(r.error().length() > 100 ? r.error().substring(0, 100) : r.error(), 1L, Long::sum));
        byError.forEach((e, n) -> o.printf(Locale.ROOT, "  error × %d: %s%n", n, e));
        long unreported = p.results().stream().filter(r -> !r.warmup() && r.ok() && !r.usageReported()).count();
        if (unreported > 0) {
            o.printf(Locale.ROOT, "  %d answers without usage: their output tokens are the content chunks counted%n", unreported);
        }
    }

    private static Map<String, Object> requestRecord(BenchClient.Result r) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("request", r.index());
        rec.put("warmup", r.warmup());
        rec.put("ok", r.ok());
        rec.put("error", r.error());
        rec.put("status", r.status());
        rec.put("sentS", r.sent());
        rec.put("doneS", r.done());
        rec.put("promptTokens", r.promptTokens());
        rec.put("outputTokens", r.outputTokens());
        rec.put("usageReported", r.usageReported());
        rec.put("tokenTimesS", r.chunks());
        if (r.ok()) {
            RequestMetrics q = r.metrics();
            rec.put("ttft_ms", q.ttft() * 1e3);
            rec.put("tpot_ms", Double.isNaN(q.tpot()) ? null : q.tpot() * 1e3);
            rec.put("request_latency_ms", q.latency() * 1e3);
        }
        return rec;
    }

    /** TTFT and ITL CDFs of the records (one line each), as SVG and PNG. */
    private static void plots(ResultWriter w, List<Map<String, Object>> records, String key) {
        for (String metric : List.of("ttft_ms", "itl_ms")) {
            plot(w, metric.replace("_ms", "") + "_cdf", org.llmwb.core.engineview.LatencyCdf.plot(records, metric));
        }
    }

    private static void plot(ResultWriter w, String name, org.llmwb.core.plot.PlotModel model) {
        w.file(name + ".svg", org.llmwb.core.plot.SvgExport.render(model, 900, 560));
        try {
            w.bytes(name + ".png", org.llmwb.core.plot.PngExport.render(model, 900, 560));
        } catch (LinkageError | RuntimeException e) { // HeadlessException is a RuntimeException; naming it would need java.desktop here too
            // a Java runtime without java.desktop (the trimmed one on the GPU machines): the SVG is there
        }
    }

    private static double num(Object v) {
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    /**
     * The trace's requests as prompts (token blocks from its hash ids, turned into text with the tokenizer's ordinary
     * tokens, or into words without one) and their arrival times; fills {@code into}, returns the arrivals.
     */
    private double[] tracePrompts(List<BenchClient.Prompt> into) {
        if (!Files.isRegularFile(trace)) {
            throw new InputException(SourceLocation.of(trace.toString()), "no such trace file");
        }
        BpeTokenizer tok = null;
        int[] ordinary;
        if (tokenizer != null) {
            if (!Files.isRegularFile(tokenizer)) {
                throw new InputException(SourceLocation.of(tokenizer.toString()), "no such tokenizer.json");
            }
            tok = BpeTokenizer.load(tokenizer);
            ordinary = tok.ordinaryIds();
        } else {
            ordinary = new int[WORDS.length];
        }
        List<org.llmwb.engine.run.Request> reqs = org.llmwb.engine.sim.Traces.read(trace, ordinary.length);
        double[] at = new double[reqs.size()];
        for (int i = 0; i < reqs.size(); i++) {
            org.llmwb.engine.run.Request q = reqs.get(i);
            at[i] = q.arrival();
            if (tok != null) {
                List<Integer> ids = new ArrayList<>();
                for (int id : q.prompt()) {
                    ids.add(ordinary[id]);
                }
                String text = tok.decode(ids, true);
                into.add(new BenchClient.Prompt(text, tok.encode(text).size(), q.maxTokens()));
            } else {
                StringBuilder sb = new StringBuilder();
                for (int id : q.prompt()) {
                    sb.append(sb.isEmpty() ? "" : " ").append(WORDS[id]);
                }
                into.add(new BenchClient.Prompt(sb.toString(), -1, q.maxTokens()));
            }
        }
        return at;
    }

    private static final String[] WORDS = {"the", "model", "serves", "tokens", "from", "a", "cache", "of", "keys", "and", "values", "while", "each", "step",
        "reads", "weights", "once", "for", "every", "sequence", "in", "batch"};

    /** Prompts of --input-tokens tokens: random ordinary token ids decoded with the endpoint's tokenizer, or plain words without one. */
    private List<BenchClient.Prompt> prompts(int n) {
        Random rng = new Random(seed);
        List<BenchClient.Prompt> out = new ArrayList<>();
        if (tokenizer != null) {
            if (!Files.isRegularFile(tokenizer)) {
                throw new InputException(SourceLocation.of(tokenizer.toString()), "no such tokenizer.json");
            }
            BpeTokenizer tok = BpeTokenizer.load(tokenizer);
            int[] ids = tok.ordinaryIds();
            for (int i = 0; i < n; i++) {
                List<Integer> p = new ArrayList<>();
                for (int j = 0; j < inputTokens; j++) {
                    p.add(ids[rng.nextInt(ids.length)]);
                }
                String text = tok.decode(p, true);
                out.add(new BenchClient.Prompt(text, tok.encode(text).size()));
            }
            return out;
        }
        String[] words = WORDS;
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < inputTokens; j++) {
                sb.append(j == 0 ? "" : " ").append(words[rng.nextInt(words.length)]);
            }
            out.add(new BenchClient.Prompt(sb.toString(), -1));
        }
        return out;
    }
}
