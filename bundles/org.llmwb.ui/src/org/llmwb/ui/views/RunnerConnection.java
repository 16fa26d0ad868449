package org.llmwb.ui.views;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.core.runtime.Platform;
import org.llmwb.core.protocol.Protocol;
import org.llmwb.core.protocol.RunnerClient;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The workbench side of one runner child process: owns the {@link RunnerClient}, queues incoming
 * events for the UI to drain on its own schedule (the reader thread never touches widgets), tracks
 * runs, and notices a dead or silent runner.
 */
final class RunnerConnection {
    /** One run's progress as the events report it. */
    static final class RunState {
        final String id;
        volatile long total = -1;
        volatile long done;
        volatile String status;
        volatile String error;
        /** The run's result folder, once completed (when it wrote one). */
        volatile String out;
        /** Every record the run produced, in order. */
        final java.util.List<java.util.Map<String, Object>> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        final CountDownLatch completed = new CountDownLatch(1);

        RunState(String id) {
            this.id = id;
        }
    }

    final Queue<JsonNode> events = new ConcurrentLinkedQueue<>();
    final Map<String, RunState> runs = new ConcurrentHashMap<>();
    private final AtomicLong lastHeard = new AtomicLong(System.nanoTime());
    private volatile RunnerClient client;
    /** A custom runner command (a remote one over ssh), or null for the local runner. */
    volatile java.util.List<String> command;
    private volatile String exitMessage;

    /** Where the runner's jars are: -Dllmwb.runner.lib, else the product's runner/lib. */
    static Path libDir() {
        String p = System.getProperty("llmwb.runner.lib");
        if (p != null) {
            return Path.of(p);
        }
        try {
            return Path.of(Platform.getInstallLocation().getURL().toURI()).resolve("runner").resolve("lib");
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("runner", "lib");
        }
    }

    synchronized void start() throws IOException {
        if (client != null && client.isAlive()) {
            return;
        }
        exitMessage = null;
        lastHeard.set(System.nanoTime());
        RunnerClient.Listener listener = new RunnerClient.Listener() {
            @Override
            public void event(JsonNode e) {
                lastHeard.set(System.nanoTime());
                track(e);
                events.add(e);
            }

            @Override
            public void exited(int code, String stderrTail) {
                exitMessage = "runner exited with code " + code + (stderrTail.isBlank() ? "" : ": " + lastLine(stderrTail));
                for (RunState r : runs.values()) {
                    r.status = "failed";
                    r.error = exitMessage;
                    r.completed.countDown();
                }
                runs.clear();
            }
        };
        client = command != null ? RunnerClient.start(command, listener) : RunnerClient.start(RunnerClient.currentJava(), libDir(), listener);
    }

    private void track(JsonNode e) {
        String id = e.path("id").asText(null);
        RunState r = id == null ? null : runs.get(id);
        if (r == null) {
            return;
        }
        switch (e.path("event").asText()) {
            case Protocol.EV_STARTED -> r.total = e.path("total").asLong();
            case Protocol.EV_PROGRESS -> r.done = e.path("done").asLong();
            case Protocol.EV_RECORD -> {
                @SuppressWarnings("unchecked")
                java.util.Map<String, Object> rec = org.llmwb.core.result.Json.MAPPER.convertValue(e.path("record"), java.util.Map.class);
                r.records.add(rec);
            }
            case Protocol.EV_ERROR -> r.error = e.path("message").asText() + problems(e);
            case Protocol.EV_COMPLETED -> {
                r.status = e.path("status").asText();
                r.done = e.path("records").asLong();
                r.out = e.path("out").asText(null);
                runs.remove(id);
                r.completed.countDown();
            }
            default -> { }
        }
    }

    static String problems(JsonNode e) {
        StringBuilder s = new StringBuilder();
        for (JsonNode p : e.path("problems")) {
            s.append("\n").append(p.path("location").asText("")).append(": ").append(p.path("message").asText());
        }
        return s.toString();
    }

    RunState run(String id, String yaml, String source, Path baseDir, String backend) throws IOException {
        return run(id, yaml, source, baseDir, backend, java.util.List.of(), null);
    }

    /** A run with KEY=VALUE overrides and a result folder ({@code out}, or null for none). */
    RunState run(String id, String yaml, String source, Path baseDir, String backend, java.util.List<String> sets, Path out) throws IOException {
        RunState r = new RunState(id);
        runs.put(id, r);
        var request = Protocol.run(id, yaml, source, out == null ? null : out.toString(), backend);
        if (baseDir != null) {
            request.put("baseDir", baseDir.toString());
        }
        if (!sets.isEmpty()) {
            var arr = request.putArray("set");
            sets.forEach(arr::add);
        }
        client().send(request);
        return r;
    }

    void cancel(String id) throws IOException {
        client().send(Protocol.request(Protocol.OP_CANCEL, id));
    }

    void ping() throws IOException {
        client().send(Protocol.request(Protocol.OP_PING, "keepalive"));
    }

    private RunnerClient client() throws IOException {
        RunnerClient c = client;
        if (c == null || !c.isAlive()) {
            throw new IOException(exitMessage != null ? exitMessage : "the runner is not running");
        }
        return c;
    }

    boolean alive() {
        RunnerClient c = client;
        return c != null && c.isAlive();
    }

    /** Seconds since the runner last said anything (pings get pongs, so a live runner stays low). */
    double silentSeconds() {
        return (System.nanoTime() - lastHeard.get()) / 1e9;
    }

    String exitMessage() {
        return exitMessage;
    }

    long pid() {
        RunnerClient c = client;
        return c == null ? -1 : c.pid();
    }

    void kill() {
        RunnerClient c = client;
        if (c != null) {
            c.kill();
        }
    }

    void close() {
        RunnerClient c = client;
        if (c != null) {
            c.close();
        }
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        return lines[lines.length - 1];
    }
}
