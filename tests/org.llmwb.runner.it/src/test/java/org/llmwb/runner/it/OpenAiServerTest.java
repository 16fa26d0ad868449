package org.llmwb.runner.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.protocol.RunnerClient;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code llmwb serve --http 0} as a real process on the built-in synthetic model, spoken to over real HTTP. */
class OpenAiServerTest {
    @TempDir
    static Path home;
    static Process server;
    static String base;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        List<String> cmd = new ArrayList<>(RunnerClient.command(RunnerClient.currentJava(), Cli.lib()));
        cmd.addAll(List.of("serve", "--http", "0", "--max-seqs", "8"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        server = pb.start();
        server.getOutputStream().close();
        BufferedReader err = new BufferedReader(new InputStreamReader(server.getErrorStream(), StandardCharsets.UTF_8));
        Pattern p = Pattern.compile("on (http://127\\.0\\.0\\.1:\\d+)/v1");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String line;
        while ((line = err.readLine()) != null && System.nanoTime() < end) {
            Matcher m = p.matcher(line);
            if (m.find()) {
                base = m.group(1);
                break;
            }
        }
        assertTrue(base != null, "the server did not say where it listens");
        Thread drain = new Thread(() -> err.lines().forEach(l -> {
        }));
        drain.setDaemon(true);
        drain.start();
    }

    @AfterAll
    static void stop() throws Exception {
        server.destroy(); // SIGTERM: the server shuts down cleanly
        assertTrue(server.waitFor(20, TimeUnit.SECONDS), "the server did not stop on SIGTERM");
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void modelsAndAGreedyCompletion() throws Exception {
        HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, m.statusCode());
        assertEquals("llmwb-tiny", Json.parse(m.body()).at("/data/0/id").asText());
        HttpResponse<String> r = post("/v1/completions", "{\"model\": \"llmwb-tiny\", \"prompt\": \"The KV cache\", \"max_tokens\": 5, \"temperature\": 0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode o = Json.parse(r.body());
        assertEquals("text_completion", o.get("object").asText());
        assertEquals("length", o.at("/choices/0/finish_reason").asText());
        assertEquals(5, o.at("/usage/completion_tokens").asInt());
        assertTrue(o.at("/usage/prompt_tokens").asInt() > 1);
        HttpResponse<String> again = post("/v1/completions", "{\"prompt\": \"The KV cache\", \"max_tokens\": 5, \"temperature\": 0}");
        assertEquals(o.at("/choices/0/text").asText(), Json.parse(again.body()).at("/choices/0/text").asText(), "greedy is deterministic");
        // a stop string cuts the text before its first occurrence and ends the request with "stop"
        String text = o.at("/choices/0/text").asText();
        String stop = text.substring(text.length() - 2);
        JsonNode cut = Json.parse(post("/v1/completions", "{\"prompt\": \"The KV cache\", \"max_tokens\": 5, \"temperature\": 0, \"stop\": "
                + Json.MAPPER.writeValueAsString(stop) + "}").body());
        assertEquals(text.substring(0, text.indexOf(stop)), cut.at("/choices/0/text").asText());
        assertEquals("stop", cut.at("/choices/0/finish_reason").asText());
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() throws Exception {
        HttpResponse<String> t = post("/tokenize", "{\"prompt\": \"The KV cache holds keys and values\"}");
        assertEquals(200, t.statusCode(), t.body());
        JsonNode o = Json.parse(t.body());
        assertEquals(o.get("tokens").size(), o.get("count").asInt());
        assertTrue(o.get("count").asInt() > 2 && o.get("max_model_len").asInt() > 0, t.body());
        // the completion endpoint counts the same prompt tokens
        JsonNode c = Json.parse(post("/v1/completions", "{\"prompt\": \"The KV cache holds keys and values\", \"max_tokens\": 1}").body());
        assertEquals(o.get("count").asInt(), c.at("/usage/prompt_tokens").asInt());
        JsonNode plain = Json.parse(post("/tokenize", "{\"prompt\": \"The KV cache holds keys and values\", \"add_special_tokens\": false}").body());
        HttpResponse<String> d = post("/detokenize", "{\"tokens\": " + plain.get("tokens") + "}");
        assertEquals(200, d.statusCode(), d.body());
        assertEquals("The KV cache holds keys and values", Json.parse(d.body()).get("prompt").asText());
        HttpResponse<String> bad = post("/detokenize", "{\"tokens\": [1, 99999999]}");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("99999999"), bad.body());
    }

    @Test
    void streamedChatDeltasAddUpToTheWholeAnswer() throws Exception {
        String req = "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"What is paged attention?\"}],"
                + " \"max_tokens\": 12, \"temperature\": 0.8, \"seed\": 7%s}";
        JsonNode whole = Json.parse(post("/v1/chat/completions", String.format(req, "")).body());
        assertEquals("chat.completion", whole.get("object").asText());
        assertEquals("assistant", whole.at("/choices/0/message/role").asText());
        HttpResponse<String> s = post("/v1/chat/completions", String.format(req, ", \"stream\": true"));
        assertEquals(200, s.statusCode());
        assertTrue(s.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        StringBuilder text = new StringBuilder();
        List<String> events = s.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals("[DONE]", events.get(events.size() - 1));
        String finish = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = Json.parse(e);
            assertEquals("chat.completion.chunk", c.get("object").asText());
            text.append(c.at("/choices/0/delta/content").asText(""));
            if (!c.at("/choices/0/finish_reason").isNull()) {
                finish = c.at("/choices/0/finish_reason").asText();
                assertEquals(12, c.at("/usage/completion_tokens").asInt());
            }
        }
        assertTrue(events.size() > 3, "a streamed answer comes in pieces: " + events.size());
        assertEquals("length", finish);
        // same seed, same sampling: the stream carries exactly the text of the whole answer
        assertEquals(whole.at("/choices/0/message/content").asText(), text.toString());
    }

    @Test
    void concurrentRequestsShareTheScheduler() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String body = "{\"prompt\": \"request number " + i + " asks about batching\", \"max_tokens\": 24, \"temperature\": 0, \"ignore_eos\": true}";
            fs.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (var f : fs) {
            HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(24, Json.parse(r.body()).at("/usage/completion_tokens").asInt());
        }
        JsonNode stats = Json.parse(http.send(HttpRequest.newBuilder(URI.create(base + "/llmwb/stats")).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertTrue(stats.get("maxRunning").asInt() > 1, "concurrent requests were never batched together: " + stats);
    }

    @Test
    void aModelByIdAndAChatWithoutMaxTokensRunsPastSixteen() throws Exception {
        HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models/llmwb-tiny")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, m.statusCode(), m.body());
        assertEquals("llmwb-tiny", Json.parse(m.body()).get("id").asText());
        HttpResponse<String> none = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models/gpt-4")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, none.statusCode(), none.body());
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        // OpenAI and vLLM let a chat answer without max_tokens run to the context's end, not 16 tokens
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about paged attention\"}], \"temperature\": 0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode o = Json.parse(r.body());
        int n = o.at("/usage/completion_tokens").asInt();
        assertTrue(n > 16 || "stop".equals(o.at("/choices/0/finish_reason").asText()), "completion tokens " + n + ": " + r.body());
    }

    @Test
    void malformedRequestsGet4xxErrorObjects() throws Exception {
        record Case(String path, String body, int status, String needle) {
        }
        for (Case c : List.of(new Case("/v1/completions", "{not json", 400, "not valid JSON"),
                new Case("/v1/completions", "{\"max_tokens\": 3}", 400, "'prompt' is required"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": \"many\"}", 400, "'max_tokens' must be a whole number"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"temperature\": 9}", 400, "'temperature' must be a number in"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"n\": 3}", 400, "only n = 1"),
                new Case("/v1/completions", "{\"prompt\": [1, 2, 999999]}", 400, "outside"),
                new Case("/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"x\"}", 404, "does not exist"),
                new Case("/v1/chat/completions", "{\"messages\": []}", 400, "non-empty array"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", 400, "role must be"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 100000}", 400, "positions"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"logprobs\": true}", 400, "logprobs are not supported"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}",
                        400, "tool calling is not supported"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"response_format\": {\"type\": \"json_object\"}}", 400,
                        "no JSON mode"),
                new Case("/v1/elsewhere", "{}", 404, "no route"))) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertEquals(c.status(), r.statusCode(), c + " → " + r.body());
            JsonNode e = Json.parse(r.body()).get("error");
            assertTrue(e.get("message").asText().contains(c.needle()), c + " → " + r.body());
            assertTrue(e.has("type") && e.has("param") && e.has("code"), r.body());
        }
        HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
        // the server is still fine afterwards
        assertEquals(200, post("/v1/completions", "{\"prompt\": \"still here\", \"max_tokens\": 2}").statusCode());
    }

    @Test
    void llmwbBenchMeasuresTheServerStreamingAndNot() throws Exception {
        Path out = home.resolve("bench-chat");
        Cli.Result r = Cli.run(home, 180, "bench", "--url", base + "/v1", "--model", "llmwb-tiny", "--num-requests", "9", "--concurrency", "3", "--warmup", "1",
                "--input-tokens", "12", "--output-tokens", "6", "--slo-ttft-ms", "60000", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("9 requests, 0 errors, 1 warm-up") && r.out().contains("ttft_ms"), r.out());
        JsonNode s = Json.parse(Files.readString(out.resolve("summary.json")));
        assertEquals(9, s.get("requests").asInt());
        assertEquals(54, s.get("outputTokens").asInt(), "ignore_eos: every answer has 6 tokens, as the server's usage says");
        assertEquals(9 * 5, s.at("/latency/itl_ms/n").asInt(), "5 gaps per 6-token stream, from the stream's own timestamps");
        assertEquals(9, s.get("metSlo").asInt());
        assertEquals(10, Files.readAllLines(out.resolve("results.jsonl")).size(), "one record per request, the warm-up marked");
        // not streaming, completions: one timestamp per answer, so TTFT is the whole latency and there is no ITL
        Path out2 = home.resolve("bench-completions");
        Cli.Result r2 = Cli.run(home, 180, "bench", "--url", base + "/v1", "--model", "llmwb-tiny", "--endpoint", "completions", "--no-stream", "--num-requests", "4",
                "--concurrency", "2", "--warmup", "0", "--input-tokens", "8", "--output-tokens", "4", "--out", out2.toString());
        assertEquals(0, r2.code(), r2.out() + r2.err());
        JsonNode s2 = Json.parse(Files.readString(out2.resolve("summary.json")));
        assertEquals(16, s2.get("outputTokens").asInt());
        assertEquals(0, s2.at("/latency/itl_ms/n").asInt());
        assertEquals(s2.at("/latency/ttft_ms/avg").asDouble(), s2.at("/latency/request_latency_ms/avg").asDouble(), 1e-9);
        // a wrong model name: every request fails with the server's 404, and the run says so
        Cli.Result bad = Cli.run(home, 60, "bench", "--url", base + "/v1", "--model", "nope", "--num-requests", "2", "--warmup", "0");
        assertEquals(1, bad.code(), bad.out());
        assertTrue(bad.out().contains("error × 2: HTTP 404"), bad.out());
    }
}
