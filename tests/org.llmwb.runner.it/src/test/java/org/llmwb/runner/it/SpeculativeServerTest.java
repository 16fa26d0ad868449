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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.protocol.RunnerClient;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The OpenAI server honours {@code --speculative} and {@code --quantization}: a server drafting with n-gram lookup
 * answers greedy requests with exactly the plain server's text, and an INT8 server answers too (its text may
 * differ: the weights did). Real processes over real HTTP.
 */
class SpeculativeServerTest {
    @TempDir
    Path home;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    record Server(Process p, String base) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            p.destroy();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        }
    }

    Server start(String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(RunnerClient.command(RunnerClient.currentJava(), Cli.lib()));
        cmd.addAll(List.of("serve", "--http", "0", "--max-seqs", "4"));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        Pattern at = Pattern.compile("on (http://127\\.0\\.0\\.1:\\d+)/v1");
        String base = null;
        StringBuilder said = new StringBuilder();
        String line;
        while ((line = err.readLine()) != null) {
            said.append(line).append('\n');
            Matcher m = at.matcher(line);
            if (m.find()) {
                base = m.group(1);
                break;
            }
        }
        assertTrue(base != null, "the server did not start: " + said);
        if (extra.length > 0 && extra[0].equals("--speculative")) {
            assertTrue(said.toString().contains("speculative " + extra[1]), said.toString());
        }
        Thread drain = new Thread(() -> err.lines().forEach(l -> {
        }));
        drain.setDaemon(true);
        drain.start();
        return new Server(p, base);
    }

    static String complete(Server s, String prompt) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.base() + "/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": " + Json.MAPPER.writeValueAsString(prompt)
                        + ", \"max_tokens\": 24, \"temperature\": 0}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode o = Json.parse(r.body());
        assertEquals(24, o.at("/usage/completion_tokens").asInt());
        return o.at("/choices/0/text").asText();
    }

    @Test
    void speculativeServerAnswersExactlyAsThePlainOne() throws Exception {
        List<String> prompts = List.of("The KV cache", "Paged attention keeps blocks; paged attention keeps", "continuous batching continuous batching");
        List<String> plain = new ArrayList<>();
        try (Server s = start()) {
            for (String q : prompts) {
                plain.add(complete(s, q));
            }
        }
        try (Server s = start("--speculative", "ngram", "--spec-k", "4")) {
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(plain.get(i), complete(s, prompts.get(i)), prompts.get(i));
            }
        }
        try (Server s = start("--quantization", "int8")) {
            assertTrue(!complete(s, prompts.get(0)).isEmpty());
        }
    }
}
