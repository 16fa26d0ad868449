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
            for (double gap : m.itl()) {
                assertTrue(gap >= 0.025 && gap < 0.5, "ITL " + gap);
            }
            assertEquals((m.latency() - m.ttft()) / 4, m.tpot(), 1e-12);
        }
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
