package org.llmwb.runner;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.core.engineview.ServingPlots;
import org.llmwb.core.result.ResultWriter;
import org.llmwb.runner.http.BenchClient;
import org.llmwb.runner.http.BenchRun;

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
    @Option(names = "--sweep", paramLabel = "KEY=V1,V2,...", description = "run one point per value of concurrency, request-rate, input-tokens or output-tokens, e.g. concurrency=1,2,4,8, and plot the Pareto frontier")
    String sweep;
    @Option(names = "--ramp-to", defaultValue = "0", paramLabel = "RATE", description = "with --request-rate: raise the rate linearly to RATE over --duration (or over the requests)")
    double rampTo;
    @Option(names = "--shared-prefix", defaultValue = "0", paramLabel = "N", description = "the first N of --input-tokens tokens are the same in every prompt (a system prompt the server's prefix cache can reuse)")
    int sharedPrefix;
    @Option(names = "--prompt-file", paramLabel = "FILE", description = "prompts to send, in order and cycled: JSON lines with \"prompt\" (and optionally \"max_tokens\"), or one plain-text prompt per line")
    Path promptFile;
    @Option(names = "--turns", defaultValue = "1", paramLabel = "T", description = "multi-turn chats: each of --concurrency users sends T turns, each with the whole conversation so far (chat endpoint, closed loop)")
    int turns;
    @Option(names = "--think-s", defaultValue = "0", paramLabel = "S", description = "with --turns: seconds a user waits after an answer before the next turn")
    double thinkS;
    @Option(names = "--gpus", defaultValue = "1", description = "GPUs behind the endpoint, for throughput per GPU (default: ${DEFAULT-VALUE})")
    double gpus;

    @Override
    public Integer call() throws Exception {
        URI base = BenchRun.url(url, SourceLocation.of("--url"));
        if (!List.of("chat", "completions").contains(endpoint)) {
            throw new InputException("--endpoint is chat or completions, not '" + endpoint + "'");
        }
        if (concurrency < 0 || rate < 0 || numRequests < 0 || duration < 0 || warmup < 0 || inputTokens < 1 || outputTokens < 1 || !(timeout > 0) || !(burstiness > 0)) {
            throw new InputException("--concurrency, --request-rate, --num-requests, --duration and --warmup must be >= 0; --input-tokens, --output-tokens, "
                    + "--timeout and --burstiness > 0");
        }
        if (out != null && Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
            throw new InputException(SourceLocation.of(out.toString()), "--out must be a new or empty folder");
        }
        if (!(gpus > 0)) {
            throw new InputException("--gpus must be > 0");
        }
        if (rampTo < 0 || rampTo > 0 && !(rate > 0)) {
            throw new InputException("--ramp-to raises an open-loop rate: give --request-rate (the start) and --ramp-to > 0 (the end)");
        }
        if (sharedPrefix < 0 || sharedPrefix >= inputTokens) {
            throw new InputException("--shared-prefix must be >= 0 and below --input-tokens (" + inputTokens + "), not " + sharedPrefix);
        }
        if (trace != null && (rampTo > 0 || sharedPrefix > 0 || promptFile != null)) {
            throw new InputException("--trace sets its own arrivals and prompts: it does not combine with --ramp-to, --shared-prefix or --prompt-file");
        }
        if (turns < 1 || !(thinkS >= 0) || Double.isInfinite(thinkS)) {
            throw new InputException("--turns must be >= 1 and --think-s a number of seconds >= 0");
        }
        if (turns > 1 && (!endpoint.equals("chat") || rate > 0 || trace != null || sweep != null && sweep.startsWith("request-rate"))) {
            throw new InputException("--turns holds conversations: it needs --endpoint chat and a closed loop (--concurrency users; no --request-rate or --trace)");
        }
        if (promptFile != null && sharedPrefix > 0) {
            throw new InputException("--prompt-file gives the prompts as they are: it does not combine with --shared-prefix");
        }
        if (promptFile != null && !Files.isRegularFile(promptFile)) {
            throw new InputException(SourceLocation.of(promptFile.toString()), "no such prompt file");
        }
        String sweepKey = null;
        double[] sweepValues = null;
        if (sweep != null) {
            int eq = sweep.indexOf('=');
            sweepKey = eq < 0 ? sweep : sweep.substring(0, eq).strip();
            if (eq < 0 || !List.of("concurrency", "request-rate", "input-tokens", "output-tokens").contains(sweepKey)) {
                throw new InputException("--sweep takes concurrency=, request-rate=, input-tokens= or output-tokens= with values V1,V2,... (got '" + sweep + "')");
            }
            try {
                sweepValues = java.util.Arrays.stream(sweep.substring(eq + 1).split(",")).map(String::strip).mapToDouble(Double::parseDouble).toArray();
            } catch (NumberFormatException e) {
                throw new InputException("--sweep " + sweep + ": the values must be numbers separated by commas");
            }
            for (double v : sweepValues) {
                boolean whole = !sweepKey.equals("request-rate");
                if (!(v > 0) || whole && (v != Math.rint(v) || v > 10_000_000)) {
                    throw new InputException("--sweep " + sweep + ": every value must be > 0" + (whole ? " and whole" : ""));
                }
            }
            if (sweepKey.endsWith("-tokens") && (promptFile != null || sweepKey.equals("input-tokens") && sharedPrefix >= (int) java.util.Arrays.stream(sweepValues).min().getAsDouble())) {
                throw new InputException("--sweep " + sweepKey + ": " + (promptFile != null ? "a prompt file sets its own prompts" : "every input length must exceed --shared-prefix"));
            }
            if (trace != null) {
                throw new InputException("--sweep and --trace do not combine: a trace sets its own arrivals");
            }
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter o = spec.commandLine().getOut();
        BenchRun.Settings settings = settings(base, concurrency, rate);
        BenchRun.Workload work = BenchRun.workload(settings);
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("client", "llmwb bench");
        env.put("java", System.getProperty("java.version"));
        env.put("cpus", Runtime.getRuntime().availableProcessors());
        env.put("time", java.time.OffsetDateTime.now().toString());
        if (sweepValues == null) {
            BenchRun.Point p = point(settings, work, err);
            print(o, p);
            if (out != null) {
                try (ResultWriter w = ResultWriter.open(out)) {
                    for (BenchClient.Result r : p.results()) {
                        w.record(BenchRun.requestRecord(r));
                    }
                    BenchRun.plots(w, List.of(p.summary()));
                    BenchRun.plot(w, "throughput", ServingPlots.throughputOverTime(p.tokenTimes(), Math.max(0.1, p.metrics().durationS() / 60)));
                    BenchRun.plot(w, "latency", BenchRun.latencyOverTime(p));
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
                double r = sweepKey.equals("request-rate") ? v : sweepKey.endsWith("-tokens") ? rate : 0;
                int in = sweepKey.equals("input-tokens") ? (int) v : inputTokens;
                int outTok = sweepKey.equals("output-tokens") ? (int) v : outputTokens;
                BenchRun.Settings ps = settings(base, c, r, in, outTok);
                // a sweep over lengths needs prompts of each length: the workload is made per point
                BenchRun.Point p = point(ps, sweepKey.endsWith("-tokens") ? BenchRun.workload(ps) : work, err);
                print(o, p);
                points.add(p.summary());
                if (w != null) {
                    w.record(p.summary());
                    StringBuilder sb = new StringBuilder();
                    p.results().forEach(q -> sb.append(Json.line(BenchRun.requestRecord(q))).append('\n'));
                    w.file("requests-" + sweepKey + "-" + fmt(v) + ".jsonl", sb.toString());
                }
            }
            String key = switch (sweepKey) {
                case "concurrency" -> "concurrency";
                case "request-rate" -> "requestRate";
                case "input-tokens" -> "inputTokens";
                default -> "outputTokens";
            };
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
                BenchRun.plots(w, points);
                BenchRun.plot(w, "pareto", ServingPlots.pareto(points, gpus, key));
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

    private BenchRun.Settings settings(URI base, int conc, double reqRate) {
        return settings(base, conc, reqRate, inputTokens, outputTokens);
    }

    private BenchRun.Settings settings(URI base, int conc, double reqRate, int in, int outTok) {
        return new BenchRun.Settings(base, model, endpoint.equals("chat"), stream, System.getenv(apiKeyEnv), numRequests, duration, conc, reqRate, burstiness,
                warmup, seed, in, outTok, ignoreEos, tokenizer, trace, gpus, sloTtftMs, sloTpotMs, timeout, reqRate > 0 ? rampTo : 0, sharedPrefix,
                promptFile, turns, thinkS);
    }

    private BenchRun.Point point(BenchRun.Settings s, BenchRun.Workload work, PrintWriter err) throws InterruptedException {
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long t0 = System.nanoTime();
        String total = work.requests() > 0 ? String.valueOf(work.requests() + warmup) : "?";
        BenchRun.Point p = BenchRun.run(s, work, r -> {
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
        return p;
    }

    private void print(PrintWriter o, BenchRun.Point p) {
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

    private static double num(Object v) {
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
