package org.llmwb.runner.http;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntFunction;

import org.llmwb.core.result.Json;
import org.llmwb.engine.metrics.RequestMetrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A load generator for an OpenAI-compatible endpoint: sends completions or chat requests at a fixed concurrency or
 * at a Poisson (or gamma, for burstiness) request rate, streams the answers (SSE) and stamps every content chunk
 * on arrival, so TTFT, inter-token latencies and TPOT come from the stream itself, as AIPerf and vLLM's
 * benchmark_serving measure them. Errors (HTTP status, connection drops, malformed events, empty answers) are
 * recorded per request and the run goes on.
 */
public final class BenchClient {
    /** What to send and how. */
    public record Config(URI base, String model, boolean chat, boolean stream, String apiKey, int maxTokens, boolean ignoreEos, Duration timeout) {
    }

    /**
     * How requests arrive: {@code schedule} (seconds from the start, one per request: a trace replayed on its own clock),
     * else {@code rate} > 0 for open-loop arrivals (capped by {@code concurrency} if > 0), else closed-loop at
     * {@code concurrency}. With {@code rampToRate} > 0 the open-loop rate climbs linearly from {@code rate} to it over
     * the run: over {@code durationS} when given, else over the time the requests take at the mean of the two rates.
     * With {@code turns} > 1 (closed loop, chat) each of the {@code concurrency} users holds a conversation: every turn
     * sends the whole history — its earlier prompts and the answers as they came — plus a new prompt, {@code thinkS}
     * seconds after the previous answer; after {@code turns} turns the user starts a new conversation.
     */
    public record Load(int requests, double durationS, int concurrency, double rate, double burstiness, int warmup, long seed, double[] schedule,
            double rampToRate, int turns, double thinkS) {
        public Load(int requests, double durationS, int concurrency, double rate, double burstiness, int warmup, long seed) {
            this(requests, durationS, concurrency, rate, burstiness, warmup, seed, null, 0, 1, 0);
        }

        public Load(int requests, double durationS, int concurrency, double rate, double burstiness, int warmup, long seed, double[] schedule,
                double rampToRate) {
            this(requests, durationS, concurrency, rate, burstiness, warmup, seed, schedule, rampToRate, 1, 0);
        }

        /** The arrival rate at {@code t} seconds into the run. */
        public double rateAt(double t) {
            if (rampToRate <= 0) {
                return rate;
            }
            double span = durationS > 0 ? durationS : requests > 0 ? 2.0 * requests / (rate + rampToRate) : Double.POSITIVE_INFINITY;
            return rate + (rampToRate - rate) * Math.min(1, t / span);
        }
    }

    /** One request as measured: times in seconds from the benchmark's start; {@code chunks} are content-chunk arrival times. */
    public record Result(int index, boolean warmup, double sent, double[] chunks, double done, int promptTokens, int outputTokens, boolean usageReported,
            int status, String error, String text) {
        public boolean ok() {
            return error == null;
        }

        /**
         * The request's latencies in the engine's terms (so one table serves both): TTFT to the first content chunk,
         * ITL between chunks, TPOT = (latency − TTFT) / (output tokens − 1) with the output tokens the server
         * reported (usage) when it did, else the chunks counted.
         */
        public RequestMetrics metrics() {
            int n = chunks.length;
            double ttft = n > 0 ? chunks[0] - sent : done - sent;
            double ttst = n > 1 ? chunks[1] - chunks[0] : Double.NaN;
            double[] itl = new double[Math.max(0, n - 1)];
            for (int i = 1; i < n; i++) {
                itl[i - 1] = chunks[i] - chunks[i - 1];
            }
            double latency = (n > 0 ? chunks[n - 1] : done) - sent;
            double tpot = outputTokens > 1 ? (latency - ttft) / (outputTokens - 1) : Double.NaN;
            return new RequestMetrics(index, warmup ? "warmup" : "", sent, promptTokens, 0, outputTokens, ttft, ttst, itl, tpot, latency, 0, "");
        }
    }

    private final Config cfg;
    private final HttpClient http;

    public BenchClient(Config cfg) {
        this.cfg = cfg;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).version(HttpClient.Version.HTTP_1_1).build();
    }

    /**
     * Runs the load: {@code prompt.apply(i)} gives request i's prompt text; {@code done} sees each result as it
     * finishes (progress). Returns every result, warm-up requests first.
     */
    public List<Result> run(Load load, IntFunction<Prompt> prompt, Consumer<Result> done) throws InterruptedException {
        long t0 = System.nanoTime();
        ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
        // warm-up: sequential, not timed into the run
        for (int w = 0; w < load.warmup(); w++) {
            Result r = one(-1 - w, true, prompt.apply(w), t0);
            results.add(r);
            done.accept(r);
        }
        long start = System.nanoTime();
        int total = load.requests() > 0 ? load.requests() : Integer.MAX_VALUE;
        double deadline = load.durationS() > 0 ? load.durationS() : Double.POSITIVE_INFINITY;
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            if (load.rate() > 0 || load.schedule() != null) {
                Random rng = new Random(load.seed());
                Semaphore cap = load.concurrency() > 0 ? new Semaphore(load.concurrency()) : null;
                double t = 0;
                int n = load.schedule() != null ? Math.min(total, load.schedule().length) : total;
                for (int i = 0; i < n; i++) {
                    t = load.schedule() != null ? load.schedule()[i] : t + gap(rng, load.rateAt(t), load.burstiness());
                    if (t > deadline) {
                        break;
                    }
                    long wait = start + (long) (t * 1e9) - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    if (cap != null) {
                        cap.acquire();
                    }
                    int idx = i;
                    pool.submit(() -> {
                        try {
                            Result r = one(idx, false, prompt.apply(load.warmup() + idx), start);
                            results.add(r);
                            done.accept(r);
                        } finally {
                            if (cap != null) {
                                cap.release();
                            }
                        }
                    });
                }
            } else {
                int workers = Math.max(1, load.concurrency());
                for (int w = 0; w < workers; w++) {
                    pool.submit(() -> {
                        Conversation talk = load.turns() > 1 ? new Conversation(load.turns()) : null; // this user's chat (multi-turn loads)
                        while (true) {
                            int idx = next.getAndIncrement();
                            if (idx >= total || (System.nanoTime() - start) / 1e9 > deadline) {
                                return;
                            }
                            Prompt p = prompt.apply(load.warmup() + idx);
                            if (talk != null) {
                                if (!talk.isNew() && !pause(load.thinkS())) {
                                    return;
                                }
                                p = talk.next(p);
                            }
                            Result r = one(idx, false, p, start);
                            results.add(r);
                            done.accept(r);
                            if (talk != null) {
                                talk.answered(p, r);
                            }
                        }
                    });
                }
            }
        }
        List<Result> out = new ArrayList<>(results);
        out.sort((a, b) -> Integer.compare(a.index(), b.index()));
        return out;
    }

    /** A prompt, the number of tokens it is (as the client counted it, -1 if unknown) and its max_tokens (0: the config's). */
    public record Prompt(String text, int tokens, int maxTokens, List<String[]> history) {
        public Prompt(String text, int tokens) {
            this(text, tokens, 0, List.of());
        }

        public Prompt(String text, int tokens, int maxTokens) {
            this(text, tokens, maxTokens, List.of());
        }

        /** The same prompt as the next turn of a conversation: {@code history} holds {role, content} pairs before it. */
        public Prompt inConversation(List<String[]> history) {
            return new Prompt(text, -1, maxTokens, List.copyOf(history));
        }
    }

    /** Seconds to the next arrival: exponential (Poisson arrivals) or gamma with shape {@code burstiness} and the same mean. */
    static double gap(Random rng, double rate, double burstiness) {
        if (burstiness <= 0 || burstiness == 1) {
            return -Math.log(1 - rng.nextDouble()) / rate;
        }
        return gamma(rng, burstiness) / (burstiness * rate);
    }

    /** A Gamma(shape, 1) draw (Marsaglia and Tsang; shape < 1 boosted). */
    static double gamma(Random rng, double shape) {
        if (shape < 1) {
            return gamma(rng, shape + 1) * Math.pow(rng.nextDouble(), 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }

    private Result one(int index, boolean warmup, Prompt p, long t0) {
        ObjectNode body = Json.object().put("model", cfg.model()).put("max_tokens", p.maxTokens() > 0 ? p.maxTokens() : cfg.maxTokens()).put("temperature", 0.0).put("stream", cfg.stream());
        if (cfg.ignoreEos()) {
            body.put("ignore_eos", true);
        }
        if (cfg.stream()) {
            body.putObject("stream_options").put("include_usage", true);
        }
        if (cfg.chat()) {
            com.fasterxml.jackson.databind.node.ArrayNode msgs = body.putArray("messages");
            for (String[] m : p.history()) {
                msgs.addObject().put("role", m[0]).put("content", m[1]);
            }
            msgs.addObject().put("role", "user").put("content", p.text());
        } else {
            body.put("prompt", p.text());
        }
        String path = cfg.chat() ? "chat/completions" : "completions";
        HttpRequest.Builder rb = HttpRequest.newBuilder(cfg.base().resolve(cfg.base().getPath().endsWith("/") ? path : cfg.base().getPath() + "/" + path))
                .timeout(cfg.timeout()).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (cfg.apiKey() != null && !cfg.apiKey().isEmpty()) {
            rb.header("Authorization", "Bearer " + cfg.apiKey());
        }
        double sent = (System.nanoTime() - t0) / 1e9;
        List<Double> chunks = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int[] usage = {-1, -1};
        int status = 0;
        java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ScheduledFuture<?> watchdog = null;
        try {
            HttpResponse<InputStream> resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
            status = resp.statusCode();
            // the request's timeout covers the answer's headers only: a stream that stalls afterwards would block the
            // read for ever, so a watchdog closes it when the request's time is up
            InputStream body0 = resp.body();
            long leftNs = (long) (cfg.timeout().toNanos() - (System.nanoTime() - t0 - (long) (sent * 1e9)));
            watchdog = WATCHDOG.schedule(() -> {
                timedOut.set(true);
                try {
                    body0.close();
                } catch (IOException e) {
                    // closing is all it can do
                }
            }, Math.max(1, leftNs), TimeUnit.NANOSECONDS);
            try (InputStream in = body0) {
                if (status != 200) {
                    String msg = new String(in.readNBytes(2000), StandardCharsets.UTF_8);
                    return new Result(index, warmup, sent, new double[0], (System.nanoTime() - t0) / 1e9, p.tokens(), 0, false, status,
                            "HTTP " + status + ": " + msg.lines().findFirst().orElse(""), "");
                }
                if (cfg.stream()) {
                    String ct = resp.headers().firstValue("content-type").orElse("");
                    if (!ct.startsWith("text/event-stream")) {
                        return new Result(index, warmup, sent, new double[0], (System.nanoTime() - t0) / 1e9, p.tokens(), 0, false, status,
                                "expected text/event-stream, got '" + ct + "'", "");
                    }
                    String err = readStream(in, t0, chunks, text, usage);
                    if (err != null) {
                        // a stream the watchdog closed reads as ended early: say why
                        return result(index, warmup, sent, chunks, t0, p, usage, status, timedOut.get() ? timeoutText() : err, text);
                    }
                } else {
                    JsonNode o = Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                    chunks.add((System.nanoTime() - t0) / 1e9);
                    text.append(contentOf(o.path("choices").path(0)));
                    usage(o, usage);
                }
            }
        } catch (IOException e) {
            if (timedOut.get()) {
                return result(index, warmup, sent, chunks, t0, p, usage, status, timeoutText(), text);
            }
            return result(index, warmup, sent, chunks, t0, p, usage, status, "connection: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()), text);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return result(index, warmup, sent, chunks, t0, p, usage, status, "interrupted", text);
        } catch (RuntimeException e) {
            return result(index, warmup, sent, chunks, t0, p, usage, status, "bad response: " + e.getMessage(), text);
        } finally {
            if (watchdog != null) {
                watchdog.cancel(false);
            }
        }
        if (chunks.isEmpty()) {
            return result(index, warmup, sent, chunks, t0, p, usage, status, "no content in the answer", text);
        }
        return result(index, warmup, sent, chunks, t0, p, usage, status, null, text);
    }

    private String timeoutText() {
        return "timed out: the answer took longer than " + cfg.timeout().toMillis() / 1000.0 + " s (the stream stalled)";
    }

    /**
     * One simulated user's chat: the turns so far, each prompt with its answer as it streamed. After the last of its
     * turns, or a failed one, the user starts a new conversation.
     */
    private static final class Conversation {
        private final int turns;
        private final List<String[]> history = new ArrayList<>();

        Conversation(int turns) {
            this.turns = turns;
        }

        boolean isNew() {
            return history.isEmpty();
        }

        Prompt next(Prompt p) {
            return p.inConversation(history);
        }

        void answered(Prompt p, Result r) {
            if (!r.ok() || history.size() / 2 + 1 >= turns) {
                history.clear();
            } else {
                history.add(new String[] {"user", p.text()});
                history.add(new String[] {"assistant", r.text()});
            }
        }
    }

    /** A user's think time; false when the run was interrupted. */
    private static boolean pause(double seconds) {
        if (seconds <= 0) {
            return true;
        }
        try {
            TimeUnit.NANOSECONDS.sleep((long) (seconds * 1e9));
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Closes streams whose request ran out of time (one daemon thread for every client). */
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "llmwb-bench-watchdog");
        t.setDaemon(true);
        return t;
    });

    private static Result result(int index, boolean warmup, double sent, List<Double> chunks, long t0, Prompt p, int[] usage, int status, String err,
            StringBuilder text) {
        double[] c = chunks.stream().mapToDouble(Double::doubleValue).toArray();
        boolean reported = usage[1] >= 0;
        int out = reported ? usage[1] : c.length;
        int in = usage[0] >= 0 ? usage[0] : p.tokens();
        return new Result(index, warmup, sent, c, (System.nanoTime() - t0) / 1e9, in, out, reported, status, err, text.toString());
    }

    /** Reads SSE events until [DONE]; stamps each event that carries content. Returns an error text or null. */
    private static String readStream(InputStream in, long t0, List<Double> chunks, StringBuilder text, int[] usage) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        boolean doneSeen = false;
        while ((line = r.readLine()) != null) {
            double now = (System.nanoTime() - t0) / 1e9;
            if (line.isEmpty() || line.startsWith(":")) {
                continue; // event separator or comment (keep-alive)
            }
            if (!line.startsWith("data:")) {
                continue; // event:, id:, retry: fields
            }
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) {
                doneSeen = true;
                break;
            }
            JsonNode o;
            try {
                o = Json.parse(data);
            } catch (IOException e) {
                return "malformed event: " + (data.length() > 80 ? data.substring(0, 80) + "…" : data);
            }
            if (o.has("error")) {
                return "error event: " + o.get("error").path("message").asText(o.get("error").toString());
            }
            JsonNode choice = o.path("choices").path(0);
            String piece = contentOf(choice);
            if (!piece.isEmpty()) {
                chunks.add(now);
                text.append(piece);
            }
            usage(o, usage);
        }
        return doneSeen ? null : "the stream ended without [DONE]";
    }

    private static String contentOf(JsonNode choice) {
        if (choice.has("delta")) {
            return choice.path("delta").path("content").asText("");
        }
        if (choice.has("message")) {
            return choice.path("message").path("content").asText("");
        }
        return choice.path("text").asText("");
    }

    private static void usage(JsonNode o, int[] usage) {
        JsonNode u = o.get("usage");
        if (u != null && u.isObject()) {
            usage[0] = u.path("prompt_tokens").asInt(usage[0]);
            usage[1] = u.path("completion_tokens").asInt(usage[1]);
        }
    }
}
