package org.llmwb.runner.http;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.tokenizer.BpeTokenizer;

/**
 * One load point of a benchmark against an OpenAI-compatible endpoint, as {@code llmwb bench} and {@code kind: bench}
 * experiments run it: the prompts (synthetic of a token count, or a trace's), the load, and the point's flat summary
 * record under the engine-run field names (with the Latency view's 101-quantile {@code cdf} block).
 */
public final class BenchRun {
    private BenchRun() {
    }

    /**
     * What one point sends and how.
     *
     * @param requests measured requests (0 with a duration: until it ends; with a trace: all of it)
     * @param concurrency closed loop at this many in flight, or the cap of an open loop (0: none)
     * @param rate Poisson/gamma arrivals per second (0: closed loop)
     */
    public record Settings(URI base, String model, boolean chat, boolean stream, String apiKey, int requests, double durationS, int concurrency, double rate,
            double burstiness, int warmup, long seed, int inputTokens, int outputTokens, boolean ignoreEos, Path tokenizer, Path trace, double gpus,
            double sloTtftMs, double sloTpotMs, double timeoutS, double rampToRate, int sharedPrefix, Path promptFile, int turns, double thinkS) {
    }

    /** The prompts to send (cycled) and, for a trace, the measured requests' arrival times from 0. */
    public record Workload(List<BenchClient.Prompt> prompts, double[] schedule, int requests, String label) {
    }

    /** One point as measured. */
    public record Point(List<BenchClient.Result> results, RunMetrics metrics, Map<String, Object> summary, long errors, int measured, double[] tokenTimes) {
    }

    /** An http(s) URL with a host, or a located error. */
    public static URI url(String url, SourceLocation where) {
        URI base;
        try {
            base = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new InputException(where, "'" + url + "' is not a URL");
        }
        if (base.getScheme() == null || !List.of("http", "https").contains(base.getScheme()) || base.getHost() == null) {
            throw new InputException(where, "the URL must be http:// or https:// with a host, e.g. http://localhost:8000/v1 (got '" + url + "')");
        }
        return base;
    }

    /** The prompts of a point: a trace's requests, or synthetic prompts of {@code inputTokens} tokens. */
    public static Workload workload(Settings s) {
        if (s.trace() != null) {
            List<BenchClient.Prompt> prompts = new ArrayList<>();
            double[] at = tracePrompts(s, prompts);
            int n = s.requests() > 0 ? Math.min(s.requests(), prompts.size() - s.warmup()) : prompts.size() - s.warmup();
            if (n < 1) {
                throw new InputException(SourceLocation.of(s.trace().toString()), prompts.size() + " requests: none left after " + s.warmup() + " warm-up request(s)");
            }
            // warm-up requests are the trace's first ones; the schedule replays the rest from 0
            double[] rest = java.util.Arrays.copyOfRange(at, s.warmup(), at.length);
            double first = rest.length > 0 ? rest[0] : 0;
            for (int i = 0; i < rest.length; i++) {
                rest[i] -= first;
            }
            return new Workload(prompts, rest, n, "trace " + s.trace().getFileName());
        }
        int n = s.requests() > 0 ? s.requests() : s.durationS() > 0 ? 0 : 100;
        String label = (s.rate() > 0 ? s.rampToRate() > 0 ? "ramp" : "request-rate" : "concurrency") + (s.turns() > 1 ? ", " + s.turns() + "-turn chats" : "");
        if (s.promptFile() != null) {
            return new Workload(promptFile(s.promptFile()), null, n, label + ", prompts from " + s.promptFile().getFileName());
        }
        return new Workload(synthetic(s, n > 0 ? n + s.warmup() : 10_000), null, n, label + (s.sharedPrefix() > 0 ? ", shared prefix " + s.sharedPrefix() : ""));
    }

    /**
     * Prompts from a file, sent in order and cycled: JSON lines with {@code prompt} (text) and optionally
     * {@code max_tokens}, or one plain-text prompt per line (lines starting with {@code {} are read as JSON).
     */
    static List<BenchClient.Prompt> promptFile(Path f) {
        String[] lines = org.llmwb.core.result.JsonFiles.readText(f).split("\n", -1);
        List<BenchClient.Prompt> out = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            if (!line.startsWith("{")) {
                out.add(new BenchClient.Prompt(line, -1));
                continue;
            }
            SourceLocation at = new SourceLocation(f.toString(), i + 1, 1);
            com.fasterxml.jackson.databind.JsonNode o = org.llmwb.core.result.JsonFiles.object(line, at);
            if (!o.path("prompt").isTextual() || o.get("prompt").asText().isEmpty()) {
                throw new InputException(at, "needs 'prompt': a non-empty text");
            }
            int max = 0;
            if (o.has("max_tokens")) {
                if (!o.get("max_tokens").canConvertToInt() || o.get("max_tokens").asInt() < 1) {
                    throw new InputException(at, "'max_tokens' must be a whole number >= 1");
                }
                max = o.get("max_tokens").asInt();
            }
            out.add(new BenchClient.Prompt(o.get("prompt").asText(), -1, max));
        }
        if (out.isEmpty()) {
            throw new InputException(SourceLocation.of(f.toString()), "the prompt file has no prompts");
        }
        return out;
    }

    /** Runs the point; {@code done} sees each request as it finishes (progress). */
    public static Point run(Settings s, Workload w, Consumer<BenchClient.Result> done) throws InterruptedException {
        int conc = s.rate() == 0 && s.concurrency() == 0 && w.schedule() == null ? 1 : s.concurrency();
        BenchClient client = new BenchClient(new BenchClient.Config(s.base(), s.model(), s.chat(), s.stream(), s.apiKey(), s.outputTokens(), s.ignoreEos(),
                Duration.ofMillis((long) (s.timeoutS() * 1000))));
        List<BenchClient.Prompt> prompts = w.prompts();
        List<BenchClient.Result> results = client.run(new BenchClient.Load(w.requests(), s.durationS(), conc, s.rate(), s.burstiness(), s.warmup(), s.seed(),
                w.schedule(), s.rampToRate(), Math.max(1, s.turns()), s.thinkS()), i -> prompts.get(i % prompts.size()), done);
        List<BenchClient.Result> measured = results.stream().filter(r -> !r.warmup()).toList();
        List<RequestMetrics> ok = measured.stream().filter(BenchClient.Result::ok).map(BenchClient.Result::metrics).toList();
        double start = measured.stream().mapToDouble(BenchClient.Result::sent).min().orElse(0);
        double end = measured.stream().mapToDouble(BenchClient.Result::done).max().orElse(0);
        RunMetrics m = RunMetrics.of(ok, end - start, s.sloTtftMs() / 1e3, s.sloTpotMs() / 1e3);
        long errors = measured.stream().filter(r -> !r.ok()).count();
        @SuppressWarnings("unchecked")
        Map<String, Object> table = Json.MAPPER.convertValue(m.toJson(), Map.class);
        Map<String, Object> flat = new LinkedHashMap<>();
        flat.put("kind", "bench");
        flat.put("url", s.base().toString());
        flat.put("model", s.model());
        flat.put("endpoint", s.chat() ? "chat" : "completions");
        flat.put("stream", s.stream());
        flat.put("load", w.label());
        flat.put("concurrency", conc);
        flat.put("requestRate", s.rate());
        if (s.rampToRate() > 0) {
            flat.put("rampToRate", s.rampToRate());
        }
        if (s.sharedPrefix() > 0) {
            flat.put("sharedPrefix", s.sharedPrefix());
        }
        if (s.turns() > 1) {
            flat.put("turns", s.turns());
            flat.put("thinkS", s.thinkS());
        }
        flat.put("inputTokens", w.schedule() != null ? null : s.inputTokens());
        flat.put("outputTokens", w.schedule() != null ? null : s.outputTokens());
        flat.put("requests", measured.size());
        flat.put("errors", errors);
        flat.put("gpus", s.gpus());
        flat.putAll(table);
        m.table().forEach((k, st) -> {
            flat.put(k + "_avg", st.avg());
            flat.put(k + "_p50", st.p50());
            flat.put(k + "_p90", st.p90());
            flat.put(k + "_p99", st.p99());
        });
        flat.put("outputTokensPerSPerGpu", m.outputTokensPerS() / s.gpus());
        flat.put("cdf", RunMetrics.cdfs(ok));
        double[] times = measured.stream().filter(BenchClient.Result::ok).flatMapToDouble(r -> java.util.Arrays.stream(r.chunks())).map(t -> t - start).toArray();
        return new Point(results, m, flat, errors, measured.size(), times);
    }

    /** TTFT and request latency of the point's measured, successful requests against their send times (from the first). */
    public static org.llmwb.core.plot.PlotModel latencyOverTime(Point p) {
        List<BenchClient.Result> ok = p.results().stream().filter(r -> !r.warmup() && r.ok()).toList();
        double first = ok.stream().mapToDouble(BenchClient.Result::sent).min().orElse(0);
        double[] sent = new double[ok.size()];
        double[] ttft = new double[ok.size()];
        double[] lat = new double[ok.size()];
        for (int i = 0; i < ok.size(); i++) {
            RequestMetrics m = ok.get(i).metrics();
            sent[i] = ok.get(i).sent() - first;
            ttft[i] = m.ttft() * 1e3;
            lat[i] = m.latency() * 1e3;
        }
        return org.llmwb.core.engineview.ServingPlots.latencyOverTime(sent, ttft, lat);
    }

    /** One request's record (results.jsonl of a single point, requests-*.jsonl of a sweep). */
    public static Map<String, Object> requestRecord(BenchClient.Result r) {
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
    public static void plots(org.llmwb.core.result.ResultWriter w, List<Map<String, Object>> records) {
        for (String metric : List.of("ttft_ms", "itl_ms")) {
            plot(w, metric.replace("_ms", "") + "_cdf", org.llmwb.core.engineview.LatencyCdf.plot(records, metric));
        }
    }

    public static void plot(org.llmwb.core.result.ResultWriter w, String name, org.llmwb.core.plot.PlotModel model) {
        w.file(name + ".svg", org.llmwb.core.plot.SvgExport.render(model, 900, 560));
        try {
            w.bytes(name + ".png", org.llmwb.core.plot.PngExport.render(model, 900, 560));
        } catch (LinkageError | RuntimeException e) { // HeadlessException is a RuntimeException; naming it would need java.desktop here too
            // a Java runtime without java.desktop (the trimmed one on the GPU machines): the SVG is there
        }
    }

    private static final String[] WORDS = {"the", "model", "serves", "tokens", "from", "a", "cache", "of", "keys", "and", "values", "while", "each", "step",
        "reads", "weights", "once", "for", "every", "sequence", "in", "batch"};

    private static BpeTokenizer tokenizer(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new InputException(SourceLocation.of(p.toString()), "no such tokenizer.json");
        }
        return BpeTokenizer.load(p);
    }

    /** Prompts of {@code inputTokens} tokens: random ordinary token ids decoded with the endpoint's tokenizer, or words without one. */
    private static List<BenchClient.Prompt> synthetic(Settings s, int n) {
        Random rng = new Random(s.seed());
        List<BenchClient.Prompt> out = new ArrayList<>();
        // a shared prefix: the first sharedPrefix tokens (or words) are the same in every prompt, as a system prompt is
        Random shared = new Random(s.seed() * 31 + 17);
        if (s.tokenizer() != null) {
            BpeTokenizer tok = tokenizer(s.tokenizer());
            int[] ids = tok.ordinaryIds();
            List<Integer> prefix = new ArrayList<>();
            for (int j = 0; j < s.sharedPrefix(); j++) {
                prefix.add(ids[shared.nextInt(ids.length)]);
            }
            for (int i = 0; i < n; i++) {
                List<Integer> p = new ArrayList<>(prefix);
                for (int j = prefix.size(); j < s.inputTokens(); j++) {
                    p.add(ids[rng.nextInt(ids.length)]);
                }
                String text = tok.decode(p, true);
                out.add(new BenchClient.Prompt(text, tok.encode(text).size()));
            }
            return out;
        }
        StringBuilder prefixWords = new StringBuilder();
        for (int j = 0; j < s.sharedPrefix(); j++) {
            prefixWords.append(j == 0 ? "" : " ").append(WORDS[shared.nextInt(WORDS.length)]);
        }
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder(prefixWords);
            for (int j = s.sharedPrefix(); j < s.inputTokens(); j++) {
                sb.append(j == 0 ? "" : " ").append(WORDS[rng.nextInt(WORDS.length)]);
            }
            out.add(new BenchClient.Prompt(sb.toString(), -1));
        }
        return out;
    }

    /**
     * The trace's requests as prompts (token blocks from its hash ids, turned into text with the tokenizer's ordinary
     * tokens, or into words without one); fills {@code into}, returns the arrivals.
     */
    private static double[] tracePrompts(Settings s, List<BenchClient.Prompt> into) {
        if (!Files.isRegularFile(s.trace())) {
            throw new InputException(SourceLocation.of(s.trace().toString()), "no such trace file");
        }
        BpeTokenizer tok = s.tokenizer() == null ? null : tokenizer(s.tokenizer());
        int[] ordinary = tok != null ? tok.ordinaryIds() : new int[WORDS.length];
        List<org.llmwb.engine.run.Request> reqs = org.llmwb.engine.sim.Traces.read(s.trace(), ordinary.length);
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
}
