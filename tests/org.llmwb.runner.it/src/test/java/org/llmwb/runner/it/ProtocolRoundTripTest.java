package org.llmwb.runner.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.protocol.Protocol;
import org.llmwb.core.protocol.RunnerClient;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/** The protocol through {@link RunnerClient} against a real {@code llmwb serve --stdio} process. */
class ProtocolRoundTripTest {
    @TempDir
    Path dir;
    private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
    private final CountDownLatch exited = new CountDownLatch(1);
    private RunnerClient client;

    @BeforeEach
    void start() throws Exception {
        client = RunnerClient.start(RunnerClient.currentJava(), Cli.lib(), new RunnerClient.Listener() {
            @Override
            public void event(JsonNode e) {
                events.add(e);
            }

            @Override
            public void exited(int code, String stderr) {
                exited.countDown();
            }
        });
        com.fasterxml.jackson.databind.JsonNode hello = next(e -> true);
        assertEquals("hello", hello.get("event").asText());
        List<String> kinds = new java.util.ArrayList<>();
        hello.get("kinds").forEach(k -> kinds.add(k.asText()));
        assertEquals(List.of("bench", "calculator", "engine-run", "kernel-sweep", "serving-sim"), kinds, "hello lists every runnable kind");
    }

    @AfterEach
    void stop() {
        client.close();
    }

    private JsonNode next(Predicate<JsonNode> p) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            JsonNode e = events.poll(100, TimeUnit.MILLISECONDS);
            if (e != null && p.test(e)) {
                return e;
            }
        }
        throw new AssertionError("no matching event within 30 s");
    }

    private static Predicate<JsonNode> is(String type) {
        return e -> type.equals(e.path("event").asText());
    }

    @Test
    void runStreamsRecordsAndWritesTheSameFolderAsTheCli() throws Exception {
        String exp = Files.readString(Cli.repo().resolve("lessons/03-kv-cache/kv.llmwb.yaml"));
        client.send(Protocol.run("r1", exp, "kv-by-attention.llmwb.yaml", dir.resolve("out").toString()));
        assertEquals(16, next(is("started")).get("total").asLong());
        JsonNode first = next(is("record"));
        assertEquals("kv", first.at("/record/calculator").asText());
        JsonNode done = next(is("completed"));
        assertEquals("ok", done.get("status").asText());
        assertEquals(16, done.get("records").asLong());
        assertEquals(16, Files.readAllLines(dir.resolve("out/results.jsonl")).size());
        assertTrue(Files.exists(dir.resolve("out/env.json")));
    }

    @Test
    void engineRunsStreamTheirSteps() throws Exception {
        String exp = "apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: bursty\n  requests: 4\n  burst: 4\n  promptTokens: 20\n"
                + "  outputTokens: 3\n  maxBatchedTokens: 32\n";
        client.send(Protocol.run("e1", exp, "e.yaml", null));
        JsonNode first = next(is(Protocol.EV_STEP));
        assertEquals(0, first.at("/step/step").asInt());
        assertTrue(first.at("/step/prefillTokens").asInt() > 0 && first.at("/step/prefillTokens").asInt() <= 32, first.toString());
        assertTrue(first.at("/step/kv/usedBlocks").asInt() > 0, first.toString());
        JsonNode rec = next(is("record"));
        assertEquals(4, rec.at("/record/completed").asInt());
        assertEquals("ok", next(is("completed")).get("status").asText());
    }

    @Test
    void malformedAndUnknownMessagesGetErrorsAndTheServerGoesOn() throws Exception {
        client.send(Json.object().put("nonsense", true));
        assertTrue(next(is("error")).get("message").asText().contains("'op'"));
        client.send(Protocol.request("explode", "x"));
        assertTrue(next(is("error")).get("message").asText().contains("unknown op 'explode'"));
        client.send(Protocol.run("bad", "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  modle: x\n", "bad.yaml", null));
        JsonNode err = next(is("error"));
        assertTrue(err.get("problems").toString().contains("bad.yaml:5:3"), err.toString());
        assertEquals("failed", next(is("completed")).get("status").asText());
        client.send(Protocol.request(Protocol.OP_PING, "p1"));
        assertEquals("p1", next(is("pong")).get("id").asText());
        assertTrue(client.isAlive());
    }

    @Test
    void longRunIsCancelledAndLeavesNoFolder() throws Exception {
        String big = "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: llama-2-7b\n  sweep:\n    context: {from: 1, to: 5000000}\n";
        client.send(Protocol.run("long", big, "big.yaml", dir.resolve("out").toString()));
        next(is("record"));
        client.send(Protocol.request(Protocol.OP_CANCEL, "long"));
        JsonNode done = next(is("completed"));
        assertEquals("cancelled", done.get("status").asText());
        assertTrue(done.get("records").asLong() < 5_000_000L);
        assertFalse(Files.exists(dir.resolve("out")));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "no staging folder left behind");
        }
    }

    @Test
    void deadRunnerIsReported() throws Exception {
        client.kill();
        assertTrue(exited.await(10, TimeUnit.SECONDS));
        assertFalse(client.isAlive());
        assertNotNull(client.stderrTail());
    }
}
