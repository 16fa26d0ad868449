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
    @Option(names = "--out", paramLabel = "DIR", description = "result folder: results.jsonl (one record per request), summary.json, env.json, results.csv")
    Path out;

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
        if (rate == 0 && concurrency == 0) {
            concurrency = 1;
        }
        int requests = numRequests > 0 ? numRequests : duration > 0 ? 0 : 100;
        if (out != null && Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
            throw new InputException(SourceLocation.of(out.toString()), "--out must be a new or empty folder");
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter o = spec.commandLine().getOut();
        List<BenchClient.Prompt> prompts = prompts(requests > 0 ? requests + warmup : 10_000);
        BenchClient client = new BenchClient(new BenchClient.Config(base, model, endpoint.equals("chat"), stream, System.getenv(apiKeyEnv), outputTokens, ignoreEos,
                Duration.ofMillis((long) (timeout * 1000))));
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long t0 = System.nanoTime();
        String total = requests > 0 ? String.valueOf(requests + warmup) : "?";
        List<BenchClient.Result> results = client.run(new BenchClient.Load(requests, duration, concurrency, rate, burstiness, warmup, seed),
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
        o.printf(Locale.ROOT, "%s %s at %s (%s, %s, %s): %d requests, %d errors, %d warm-up%n", model, endpoint, url, stream ? "streaming" : "not streaming",
                rate > 0 ? String.format(Locale.ROOT, "%.3g req/s%s", rate, concurrency > 0 ? " capped at " + concurrency : "") : "concurrency " + concurrency,
                inputTokens + " in / " + outputTokens + " out", measured.size(), errors, warmup);
        o.print(m.text());
        Map<String, Long> byError = new LinkedHashMap<>();
        measured.stream().filter(r -> !r.ok()).forEach(r -> byError.merge(r.error().length() > 100 ? r.error().substring(0, 100) : r.error(), 1L, Long::sum));
        byError.forEach((e, n) -> o.printf(Locale.ROOT, "  error × %d: %s%n", n, e));
        long unreported = measured.stream().filter(r -> r.ok() && !r.usageReported()).count();
        if (unreported > 0) {
            o.printf(Locale.ROOT, "  %d answers without usage: their output tokens are the content chunks counted%n", unreported);
        }
        if (out != null) {
            try (ResultWriter w = ResultWriter.open(out)) {
                for (BenchClient.Result r : results) {
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
                    w.record(rec);
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> summary = Json.MAPPER.convertValue(m.toJson(), Map.class);
                Map<String, Object> flat = new LinkedHashMap<>();
                flat.put("kind", "bench");
                flat.put("url", url);
                flat.put("model", model);
                flat.put("endpoint", endpoint);
                flat.put("stream", stream);
                flat.put("concurrency", concurrency);
                flat.put("requestRate", rate);
                flat.put("inputTokens", inputTokens);
                flat.put("outputTokens", outputTokens);
                flat.put("errors", errors);
                flat.putAll(summary);
                m.table().forEach((k, s) -> {
                    flat.put(k + "_avg", s.avg());
                    flat.put(k + "_p50", s.p50());
                    flat.put(k + "_p90", s.p90());
                    flat.put(k + "_p99", s.p99());
                });
                Map<String, Object> env = new LinkedHashMap<>();
                env.put("client", "llmwb bench");
                env.put("java", System.getProperty("java.version"));
                env.put("cpus", Runtime.getRuntime().availableProcessors());
                env.put("time", java.time.OffsetDateTime.now().toString());
                Path written = w.commit(flat, env);
                o.println("results in " + written);
            }
        }
        o.flush();
        return errors == measured.size() && !measured.isEmpty() ? 1 : 0;
    }

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
        String[] words = {"the", "model", "serves", "tokens", "from", "a", "cache", "of", "keys", "and", "values", "while", "each", "step", "reads",
            "weights", "once", "for", "every", "sequence", "in", "batch"};
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
