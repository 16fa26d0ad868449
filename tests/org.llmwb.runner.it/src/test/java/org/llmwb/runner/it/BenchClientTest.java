package org.llmwb.runner.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.runner.http.BenchClient;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * {@code llmwb bench}'s client against a scripted local server that behaves well and badly: a stream with a known
 * first-token delay and token gaps, a 500, a stream cut before [DONE], a malformed event, a wrong content type.
 * The client records each failure, keeps going, and its figures for the good requests match the script.
 */
class BenchClientTest {
    static HttpServer server;
    static URI base;
    static final java.util.Queue<String> BODIES = new java.util.concurrent.ConcurrentLinkedQueue<>();

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/", BenchClientTest::handle);
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    /** The behaviour is chosen by the prompt text (the model field is the same for all). */
    static void handle(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        BODIES.add(body);
        String mode = body.replaceAll("(?s).*\"content\":\"([a-z]+)\".*", "$1");
        try (ex) {
            if (mode.equals("error")) {
                byte[] b = "{\"error\": {\"message\": \"overloaded\"}}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(500, b.length);
                ex.getResponseBody().write(b);
                return;
            }
            ex.getResponseHeaders().add("Content-Type", mode.equals("ctype") ? "application/json" : "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            sleep(100); // the first token after 100 ms
            for (int i = 0; i < 5; i++) {
                if (i > 0) {
                    sleep(30); // then one every 30 ms
                }
                if (mode.equals("malformed") && i == 2) {
                    send(out, "data: {not json");
                    return;
                }
                if (mode.equals("drop") && i == 2) {
                    return; // connection closed without [DONE]
                }
                if (mode.equals("stall") && i == 2) {
                    sleep(3000); // the stream stalls mid-answer, then goes on
                }
                send(out, "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"x\"}}]}");
            }
            send(out, ": keep-alive comment");
            send(out, "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 7, \"completion_tokens\": 5}}");
            send(out, "data: [DONE]");
        }
    }

    static void send(OutputStream out, String line) throws IOException {
        out.write((line + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void goodAndBadAnswersAreToldApartAndTheGoodOnesMeasuredFromTheStream() throws Exception {
        BenchClient c = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 5, true, Duration.ofSeconds(20)));
        List<String> modes = List.of("good", "error", "drop", "malformed", "ctype", "good");
        List<BenchClient.Result> rs = c.run(new BenchClient.Load(modes.size(), 0, 2, 0, 1, 0, 1), i -> new BenchClient.Prompt(modes.get(i), 1), r -> {
        });
        assertEquals(modes.size(), rs.size(), "every request is accounted for");
        Map<String, String> errors = rs.stream().filter(r -> !r.ok()).collect(Collectors.toMap(r -> modes.get(r.index()), BenchClient.Result::error));
        assertTrue(errors.get("error").startsWith("HTTP 500"), errors.toString());
        assertTrue(errors.get("drop").contains("without [DONE]"), errors.toString());
        assertTrue(errors.get("malformed").startsWith("malformed event"), errors.toString());
        assertTrue(errors.get("ctype").contains("text/event-stream"), errors.toString());
        assertEquals(4, errors.size());
        for (BenchClient.Result r : rs.stream().filter(BenchClient.Result::ok).toList()) {
            RequestMetrics m = r.metrics();
            assertTrue(r.usageReported());
            assertEquals(5, m.outputTokens());
            assertEquals(7, m.promptTokens());
            assertTrue(m.ttft() >= 0.095 && m.ttft() < 0.6, "TTFT " + m.ttft());
            assertEquals(4, m.itl().length);
            // the server sends chunk k at 100 + 30·k ms: none can arrive earlier (one gap may look shorter when the chunk
            // before it was read late on a busy machine, so the bound is on arrivals, and on the mean gap)
            for (int k = 0; k < r.chunks().length; k++) {
                assertTrue(r.chunks()[k] - r.sent() >= 0.100 + 0.030 * k - 0.002, "chunk " + k + " at " + (r.chunks()[k] - r.sent()));
            }
            double meanGap = java.util.Arrays.stream(m.itl()).average().orElseThrow();
            assertTrue(meanGap >= 0.025 && meanGap < 0.5, "mean ITL " + meanGap);
            assertEquals((m.latency() - m.ttft()) / 4, m.tpot(), 1e-12);
        }
    }

    /** A trace replayed on its own clock: each request leaves at its arrival, with its own max_tokens. */
    @Test
    void aScheduleIsReplayedOnItsOwnClockWithEachRequestsMaxTokens() throws Exception {
        BenchClient c = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 5, true, Duration.ofSeconds(20)));
        double[] at = {0, 0.35, 0.40, 0.9};
        int[] maxTokens = {3, 11, 7, 2};
        BODIES.clear();
        List<BenchClient.Result> rs = c.run(new BenchClient.Load(0, 0, 0, 0, 1, 0, 1, at, 0), i -> new BenchClient.Prompt("good", 1, maxTokens[i]), r -> {
        });
        assertEquals(4, rs.size());
        for (BenchClient.Result r : rs) {
            assertTrue(r.ok(), r.error());
            // sent on schedule: not before its arrival, and not held back by the earlier requests still streaming
            assertTrue(r.sent() >= at[r.index()] - 1e-3 && r.sent() < at[r.index()] + 0.1, "request " + r.index() + " sent at " + r.sent());
        }
        List<Integer> sentMax = BODIES.stream().map(b -> Integer.parseInt(b.replaceAll("(?s).*\"max_tokens\":(\\d+).*", "$1"))).sorted().toList();
        assertEquals(List.of(2, 3, 7, 11), sentMax);
    }

    /** A stream that stalls mid-answer: measured as one long gap within the timeout, cut off and recorded beyond it. */
    @Test
    void aStallMidStreamIsMeasuredOrTimedOut() throws Exception {
        BenchClient patient = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 5, true, Duration.ofSeconds(20)));
        BenchClient.Result ok = patient.run(new BenchClient.Load(1, 0, 1, 0, 1, 0, 1), i -> new BenchClient.Prompt("stall", 1), r -> {
        }).get(0);
        assertTrue(ok.ok(), ok.error());
        double maxGap = java.util.Arrays.stream(ok.metrics().itl()).max().orElseThrow();
        assertTrue(maxGap >= 2.9 && maxGap < 6, "the stall is one gap of ~3 s in the stream: " + maxGap);
        BenchClient hasty = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 5, true, Duration.ofSeconds(1)));
        long t0 = System.nanoTime();
        BenchClient.Result cut = hasty.run(new BenchClient.Load(1, 0, 1, 0, 1, 0, 1), i -> new BenchClient.Prompt("stall", 1), r -> {
        }).get(0);
        double took = (System.nanoTime() - t0) / 1e9;
        assertTrue(!cut.ok() && cut.error().startsWith("timed out"), String.valueOf(cut.error()));
        assertTrue(took < 2.5, "the read was cut at the 1 s timeout, not after the 3 s stall: " + took);
        assertEquals(2, cut.chunks().length, "the chunks before the stall are kept");
    }

    /** --turns: each user's later turns carry the whole conversation, the answers as they came; then a new conversation. */
    @Test
    void multiTurnChatsSendTheConversationSoFar(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        BODIES.clear();
        Cli.Result r = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--turns", "3", "--concurrency", "1", "--num-requests", "6",
                "--warmup", "0", "--input-tokens", "5");
        assertEquals(0, r.code(), r.out() + r.err());
        List<com.fasterxml.jackson.databind.JsonNode> bodies = new java.util.ArrayList<>();
        for (String b : BODIES) {
            bodies.add(org.llmwb.core.result.Json.parse(b));
        }
        assertEquals(List.of(1, 3, 5, 1, 3, 5), bodies.stream().map(b -> b.get("messages").size()).toList());
        com.fasterxml.jackson.databind.JsonNode third = bodies.get(2).get("messages");
        assertEquals(bodies.get(0).at("/messages/0/content").asText(), third.at("/0/content").asText(), "turn 1's prompt opens turn 3");
        assertEquals("assistant", third.at("/1/role").asText());
        assertEquals("xxxxx", third.at("/1/content").asText(), "the answer as it streamed");
        assertEquals(bodies.get(1).at("/messages/2/content").asText(), third.at("/2/content").asText());
        Cli.Result bad = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--turns", "2", "--endpoint", "completions");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--turns holds conversations"), bad.err());
    }

    /** A sweep over prompt lengths: a point per length, each with prompts of that length. */
    @Test
    void aSweepOverInputLengths(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        BODIES.clear();
        java.nio.file.Path out = home.resolve("lengths");
        Cli.Result r = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--sweep", "input-tokens=3,7", "--num-requests", "2", "--warmup", "0",
                "--concurrency", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> points = java.nio.file.Files.readAllLines(out.resolve("results.jsonl"));
        assertEquals(List.of(3, 7), points.stream().map(l -> {
            try {
                return org.llmwb.core.result.Json.parse(l).get("inputTokens").asInt();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).toList());
        List<Integer> words = BODIES.stream().map(b -> b.replaceAll("(?s).*\"content\":\"([^\"]*)\".*", "$1").split(" ").length).toList();
        assertEquals(List.of(3, 3, 7, 7), words, "each point's prompts have its length");
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("requests-input-tokens-7.jsonl")));
    }

    /** A ramp: the open-loop rate climbs from 10 to 100 requests/s over the run, so late arrivals come closer together. */
    @Test
    void aRampRaisesTheArrivalRate() throws Exception {
        BenchClient.Load ramp = new BenchClient.Load(40, 0, 0, 10, 1, 0, 3, null, 100);
        double span = 2.0 * 40 / 110; // the requests' time at the mean rate
        assertEquals(10, ramp.rateAt(0), 1e-12);
        assertEquals(55, ramp.rateAt(span / 2), 1e-9);
        assertEquals(100, ramp.rateAt(5 * span), 1e-12);
        BenchClient c = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 2, true, Duration.ofSeconds(20)));
        List<BenchClient.Result> rs = c.run(ramp, i -> new BenchClient.Prompt("good", 1), r -> {
        });
        assertEquals(40, rs.size());
        double[] sent = rs.stream().mapToDouble(BenchClient.Result::sent).sorted().toArray();
        double early = (sent[10] - sent[0]) / 10;
        double late = (sent[39] - sent[29]) / 10;
        assertTrue(early > 2 * late, "mean gap over the first 10 arrivals " + early + " s, over the last 10 " + late + " s");
    }

    /** --shared-prefix and --prompt-file through the command line: what the server receives. */
    @Test
    void sharedPrefixesAndPromptFilesReachTheServer(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        BODIES.clear();
        Cli.Result r = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--shared-prefix", "4", "--input-tokens", "9", "--num-requests", "4",
                "--warmup", "0", "--concurrency", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> contents = BODIES.stream().map(b -> b.replaceAll("(?s).*\"content\":\"([^\"]*)\".*", "$1")).toList();
        assertEquals(4, contents.size());
        String prefix = String.join(" ", java.util.Arrays.copyOf(contents.get(0).split(" "), 4));
        for (String t : contents) {
            assertEquals(9, t.split(" ").length, t);
            assertTrue(t.startsWith(prefix + " "), "every prompt starts with the same 4 words: " + contents);
        }
        assertEquals(4, contents.stream().distinct().count(), "and goes on with its own: " + contents);

        java.nio.file.Path f = home.resolve("prompts.jsonl");
        java.nio.file.Files.writeString(f, "{\"prompt\": \"first prompt\", \"max_tokens\": 3}\nsecond as plain text\n\n{\"prompt\": \"third\", \"max_tokens\": 9}\n");
        BODIES.clear();
        Cli.Result p = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--prompt-file", f.toString(), "--num-requests", "3", "--warmup", "0",
                "--concurrency", "1", "--output-tokens", "5");
        assertEquals(0, p.code(), p.out() + p.err());
        List<String> sent = BODIES.stream().map(b -> b.replaceAll("(?s).*\"content\":\"([^\"]*)\".*", "$1") + "/" + b.replaceAll("(?s).*\"max_tokens\":(\\d+).*", "$1"))
                .toList();
        assertEquals(List.of("first prompt/3", "second as plain text/5", "third/9"), sent);
        java.nio.file.Files.writeString(f, "{\"prompt\": \"\"}\n");
        Cli.Result bad = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--prompt-file", f.toString(), "--num-requests", "1");
        assertEquals(1, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("prompts.jsonl:1:1: error: needs 'prompt'"), bad.err());
        Cli.Result both = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--ramp-to", "50");
        assertEquals(1, both.code());
        assertTrue(both.err().contains("--ramp-to raises an open-loop rate"), both.err());
    }

    /** {@code llmwb bench} as a child process: a concurrency sweep (a point per value, the frontier, plots) and a trace replay. */
    @Test
    void sweepAndTraceThroughTheCommandLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        java.nio.file.Path out = home.resolve("sweep");
        Cli.Result r = Cli.run(home, 120, "bench", "--url", base.toString(), "--model", "m", "--sweep", "concurrency=1,3", "--num-requests", "6", "--warmup", "0",
                "--gpus", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> points = java.nio.file.Files.readAllLines(out.resolve("results.jsonl"));
        assertEquals(2, points.size());
        var p1 = org.llmwb.core.result.Json.parse(points.get(0));
        var p3 = org.llmwb.core.result.Json.parse(points.get(1));
        assertEquals(1, p1.get("concurrency").asInt());
        assertEquals(3, p3.get("concurrency").asInt());
        assertEquals(6, p3.get("requests").asInt());
        assertEquals(p3.get("outputTokensPerS").asDouble() / 2, p3.get("outputTokensPerSPerGpu").asDouble(), 1e-9);
        assertEquals(101, p3.get("cdf").get("ttft_ms").size(), "the Latency view's CDF block");
        // the scripted server answers every request alike, so 3 in flight give more tokens/s than 1
        assertTrue(p3.get("outputTokensPerS").asDouble() > 1.5 * p1.get("outputTokensPerS").asDouble(), points.toString());
        for (String f : List.of("pareto.svg", "ttft_cdf.svg", "itl_cdf.svg", "requests-concurrency-1.jsonl", "requests-concurrency-3.jsonl", "summary.json")) {
            assertTrue(java.nio.file.Files.isRegularFile(out.resolve(f)), f);
        }
        assertTrue(r.out().contains("(frontier)"), r.out());
        var summary = org.llmwb.core.result.Json.parse(java.nio.file.Files.readString(out.resolve("summary.json")));
        assertEquals("bench-sweep", summary.get("kind").asText());

        java.nio.file.Path trace = home.resolve("trace.jsonl");
        java.nio.file.Files.writeString(trace, """
                {"timestamp": 0, "input_length": 12, "output_length": 4, "hash_ids": [7]}
                {"timestamp": 200, "input_length": 20, "output_length": 9, "hash_ids": [7, 8]}
                {"timestamp": 250, "input_length": 8, "output_length": 2}
                oops
                """);
        Cli.Result bad = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--trace", trace.toString(), "--warmup", "0");
        assertEquals(1, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("trace.jsonl:4"), bad.err());
        java.nio.file.Files.writeString(trace, java.nio.file.Files.readString(trace).replace("oops\n", ""));
        BODIES.clear();
        java.nio.file.Path tout = home.resolve("trace-run");
        Cli.Result t = Cli.run(home, 60, "bench", "--url", base.toString(), "--model", "m", "--trace", trace.toString(), "--warmup", "0", "--out", tout.toString());
        assertEquals(0, t.code(), t.out() + t.err());
        List<String> reqs = java.nio.file.Files.readAllLines(tout.resolve("results.jsonl"));
        assertEquals(3, reqs.size());
        double sent1 = org.llmwb.core.result.Json.parse(reqs.get(1)).get("sentS").asDouble();
        double sent0 = org.llmwb.core.result.Json.parse(reqs.get(0)).get("sentS").asDouble();
        assertEquals(0.2, sent1 - sent0, 0.08, "the second request leaves 200 ms after the first");
        List<Integer> sentMax = BODIES.stream().map(b -> Integer.parseInt(b.replaceAll("(?s).*\"max_tokens\":(\\d+).*", "$1"))).sorted().toList();
        assertEquals(List.of(2, 4, 9), sentMax, "each request's max_tokens is its output_length");
        assertTrue(java.nio.file.Files.isRegularFile(tout.resolve("throughput.svg")));
        assertTrue(java.nio.file.Files.readString(tout.resolve("latency.svg")).contains("Latency over time"));
    }

    /** A {@code kind: bench} experiment through {@code llmwb run}: a point per swept concurrency, the same records as the CLI's, plots. */
    @Test
    void aBenchExperimentRunsThroughLlmwbRun(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        java.nio.file.Path exp = home.resolve("bench.llmwb.yaml");
        java.nio.file.Files.writeString(exp, """
                apiVersion: llmwb/v1
                kind: bench
                metadata: {name: scripted}
                spec:
                  load: concurrency
                  url: %s
                  model: m
                  requests: 6
                  warmup: 0
                  sweep:
                    concurrency: [1, 3]
                """.formatted(base));
        java.nio.file.Path out = home.resolve("run");
        Cli.Result r = Cli.run(home, 120, "run", exp.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> recs = java.nio.file.Files.readAllLines(out.resolve("results.jsonl"));
        assertEquals(2, recs.size());
        var p3 = org.llmwb.core.result.Json.parse(recs.get(1));
        assertEquals("bench", p3.get("kind").asText());
        assertEquals(3, p3.get("concurrency").asInt());
        assertEquals(6, p3.get("requests").asInt());
        assertEquals(0, p3.get("errors").asInt());
        assertEquals(6, p3.get("latency").get("ttft_ms").get("n").asInt(), "6 requests measured");
        for (String f : List.of("requests-1.jsonl", "requests-2.jsonl", "pareto.svg", "ttft_cdf.svg", "itl_cdf.svg")) {
            assertTrue(java.nio.file.Files.isRegularFile(out.resolve(f)), f);
        }
        assertTrue(r.out().contains("bench m at") && r.out().contains("concurrency 3"), r.out());
        // an endpoint that answers nothing: a located error, no result folder
        java.nio.file.Files.writeString(exp, java.nio.file.Files.readString(exp).replace(base.toString(), "http://127.0.0.1:9/v1"));
        Cli.Result bad = Cli.run(home, 60, "run", exp.toString(), "--out", home.resolve("bad").toString());
        assertEquals(1, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("every request to http://127.0.0.1:9/v1 failed"), bad.err());
        assertFalse(java.nio.file.Files.exists(home.resolve("bad")));
    }

    @Test
    void metricsFromScriptedTimestamps() {
        // sent at 1.0 s; chunks at 1.25, 1.30, 1.40, 1.45; the server reported 4 output tokens
        BenchClient.Result r = new BenchClient.Result(0, false, 1.0, new double[] {1.25, 1.30, 1.40, 1.45}, 1.46, 10, 4, true, 200, null, "abcd");
        RequestMetrics m = r.metrics();
        assertEquals(0.25, m.ttft(), 1e-12);
        assertEquals(0.05, m.timeToSecondToken(), 1e-12);
        assertEquals(3, m.itl().length);
        assertEquals(0.10, m.itl()[1], 1e-12);
        assertEquals(0.45, m.latency(), 1e-12);
        assertEquals((0.45 - 0.25) / 3, m.tpot(), 1e-12);
        assertEquals(3 / 0.2, m.userTokensPerSecond(), 1e-9);
        // a server that packs two tokens per chunk: usage says 8 tokens over 4 chunks, TPOT uses the 8
        BenchClient.Result packed = new BenchClient.Result(1, false, 1.0, new double[] {1.25, 1.30, 1.40, 1.45}, 1.46, 10, 8, true, 200, null, "");
        assertEquals(0.2 / 7, packed.metrics().tpot(), 1e-12);
        assertFalse(Double.isNaN(packed.metrics().userTokensPerSecond()));
    }
}
