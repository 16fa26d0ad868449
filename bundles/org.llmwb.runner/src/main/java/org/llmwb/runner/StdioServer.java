package org.llmwb.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.experiment.ExperimentParser;
import org.llmwb.core.protocol.Protocol;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The protocol server: reads requests line by line, runs experiments on worker threads, and writes
 * events as single lines to stdout (never anything else: logs go to stderr). A malformed or
 * unknown message gets an {@code error} event; the server keeps going.
 */
final class StdioServer {
    private final BufferedReader in;
    private final PrintStream out;
    private final GpuCatalog gpus;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "llmwb-run");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, AtomicBoolean> active = new ConcurrentHashMap<>();

    StdioServer(InputStream in, OutputStream out, GpuCatalog gpus) {
        this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.out = new PrintStream(out, false, StandardCharsets.UTF_8);
        this.gpus = gpus;
    }

    int serve() throws IOException {
        ObjectNode hello = Protocol.event(Protocol.EV_HELLO, null).put("version", EnvFingerprint.VERSION).put("protocol", Protocol.VERSION);
        var kinds = hello.putArray("kinds");
        new java.util.TreeSet<>(org.llmwb.core.experiment.ExperimentParser.RUNNABLE_KINDS).forEach(kinds::add); // every kind a run request may carry
        emit(hello);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            if (!handle(line)) {
                break;
            }
        }
        // stdin closed or shutdown: stop running experiments, give them a moment to clean up
        active.values().forEach(f -> f.set(true));
        pool.shutdown();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** @return false when the client asked the server to stop */
    private boolean handle(String line) {
        JsonNode req;
        try {
            req = Json.parse(line);
        } catch (IOException e) {
            emit(Protocol.error(null, "malformed request (not JSON): " + firstLine(e.getMessage()), List.of()));
            return true;
        }
        if (!req.isObject() || !req.path("op").isTextual()) {
            emit(Protocol.error(null, "a request must be a JSON object with a string field 'op'", List.of()));
            return true;
        }
        String op = req.get("op").asText();
        String id = req.path("id").isTextual() ? req.get("id").asText() : null;
        switch (op) {
            case Protocol.OP_HELLO -> emit(Protocol.event(Protocol.EV_HELLO, id).put("version", EnvFingerprint.VERSION).put("protocol", Protocol.VERSION));
            case Protocol.OP_PING -> emit(Protocol.event(Protocol.EV_PONG, id));
            case Protocol.OP_RUN -> startRun(req, id);
            case Protocol.OP_CANCEL -> {
                AtomicBoolean flag = id == null ? null : active.get(id);
                if (flag == null) {
                    emit(Protocol.error(id, "no running experiment with id '" + id + "'", List.of()));
                } else {
                    flag.set(true);
                }
            }
            case Protocol.OP_SHUTDOWN -> {
                return false;
            }
            default -> emit(Protocol.error(id, "unknown op '" + op + "'; known: hello, run, cancel, ping, shutdown", List.of()));
        }
        return true;
    }

    private void startRun(JsonNode req, String id) {
        if (id == null || id.isBlank()) {
            emit(Protocol.error(null, "run needs a string 'id'", List.of()));
            return;
        }
        if (!req.path("experiment").isTextual()) {
            emit(Protocol.error(id, "run needs 'experiment': the experiment YAML as a string", List.of()));
            return;
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        if (active.putIfAbsent(id, cancelled) != null) {
            emit(Protocol.error(id, "a run with id '" + id + "' is already running", List.of()));
            return;
        }
        String text = req.get("experiment").asText();
        String source = req.path("source").asText("experiment.yaml");
        Path out = req.path("out").isTextual() ? Path.of(req.get("out").asText()) : null;
        String backend = req.path("backend").isTextual() ? req.get("backend").asText() : null;
        if (backend != null && !java.util.Set.of("auto", "cuda", "cpu").contains(backend)) {
            active.remove(id);
            emit(Protocol.error(id, "backend is auto, cuda or cpu, not '" + backend + "'", List.of()));
            return;
        }
        pool.submit(() -> {
            try {
                // KEY=VALUE overrides, as --set on the command line (a lesson's CPU or GPU sizes)
                List<String> sets = new java.util.ArrayList<>();
                req.path("set").forEach(x -> sets.add(x.asText()));
                Experiment e = ExperimentParser.override(ExperimentParser.parse(text, source, req.path("baseDir").isTextual() ? Path.of(req.get("baseDir").asText()) : null, gpus),
                        sets, gpus);
                ExperimentExecutor.Outcome o = ExperimentExecutor.run(e, text, gpus, out, new ExperimentExecutor.Events() {
                    @Override
                    public void started(long total) {
                        emit(Protocol.event(Protocol.EV_STARTED, id).put("total", total).put("experiment", e.name()));
                    }

                    @Override
                    public void record(long index, long total, Map<String, Object> record) {
                        ObjectNode ev = Protocol.event(Protocol.EV_RECORD, id).put("index", index);
                        ev.set("record", Json.MAPPER.valueToTree(record));
                        emit(ev);
                    }

                    @Override
                    public void progress(long done, long total) {
                        emit(Protocol.event(Protocol.EV_PROGRESS, id).put("done", done).put("total", total));
                    }

                    @Override
                    public void step(long point, ObjectNode step) {
                        ObjectNode ev = Protocol.event(Protocol.EV_STEP, id).put("point", point);
                        ev.set("step", step);
                        emit(ev);
                    }
                }, cancelled::get, backend);
                ObjectNode done = Protocol.event(Protocol.EV_COMPLETED, id).put("status", o.status()).put("records", o.records());
                done.set("summary", Json.MAPPER.valueToTree(o.summary()));
                if (o.out() != null) {
                    done.put("out", o.out().toString());
                }
                emit(done);
            } catch (InputException ex) {
                emit(Protocol.error(id, "invalid experiment", ex.problems()));
                emit(Protocol.event(Protocol.EV_COMPLETED, id).put("status", "failed").put("records", 0));
            } catch (RuntimeException ex) {
                ex.printStackTrace();
                emit(Protocol.error(id, "run failed: " + ex, List.of()));
                emit(Protocol.event(Protocol.EV_COMPLETED, id).put("status", "failed").put("records", 0));
            } finally {
                active.remove(id);
            }
        });
    }

    private synchronized void emit(ObjectNode event) {
        out.println(Json.line(event));
        out.flush();
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
