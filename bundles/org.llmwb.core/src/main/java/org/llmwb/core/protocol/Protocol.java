package org.llmwb.core.protocol;

import java.util.List;

import org.llmwb.core.Problem;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The runner's JSON-lines protocol (docs/protocol.md): one JSON object per line on stdin
 * (requests, field {@code op}) and stdout (events, field {@code event}). Version {@link #VERSION}.
 */
public final class Protocol {
    public static final int VERSION = 1;

    // requests
    public static final String OP_HELLO = "hello";
    public static final String OP_RUN = "run";
    public static final String OP_CANCEL = "cancel";
    public static final String OP_PING = "ping";
    public static final String OP_SHUTDOWN = "shutdown";

    // events
    public static final String EV_HELLO = "hello";
    public static final String EV_STARTED = "started";
    public static final String EV_PROGRESS = "progress";
    public static final String EV_RECORD = "record";
    public static final String EV_LOG = "log";
    public static final String EV_ERROR = "error";
    public static final String EV_COMPLETED = "completed";
    public static final String EV_PONG = "pong";
    /** One engine step of an engine-run point: batch composition and KV pool (fields of the engine's StepEvent). */
    public static final String EV_STEP = "engine-step";

    private Protocol() {
    }

    public static ObjectNode event(String type, String runId) {
        ObjectNode n = Json.object().put("event", type);
        if (runId != null) {
            n.put("id", runId);
        }
        return n;
    }

    public static ObjectNode request(String op, String runId) {
        ObjectNode n = Json.object().put("op", op);
        if (runId != null) {
            n.put("id", runId);
        }
        return n;
    }

    /** A run request carrying the experiment text (the runner needs no shared file system). */
    public static ObjectNode run(String runId, String experimentYaml, String sourceName, String outDir) {
        ObjectNode n = request(OP_RUN, runId).put("experiment", experimentYaml).put("source", sourceName);
        if (outDir != null) {
            n.put("out", outDir);
        }
        return n;
    }

    /** {@link #run} on a chosen backend for kernel sweeps: "auto", "cuda" or "cpu". */
    public static ObjectNode run(String runId, String experimentYaml, String sourceName, String outDir, String backend) {
        ObjectNode n = run(runId, experimentYaml, sourceName, outDir);
        if (backend != null) {
            n.put("backend", backend);
        }
        return n;
    }

    public static ObjectNode error(String runId, String message, List<Problem> problems) {
        ObjectNode n = event(EV_ERROR, runId).put("message", message);
        ArrayNode arr = n.putArray("problems");
        for (Problem p : problems) {
            ObjectNode o = arr.addObject().put("severity", p.severity().name().toLowerCase()).put("message", p.message());
            if (p.location() != null) {
                o.put("location", p.location().toString()).put("line", p.location().line()).put("column", p.location().column());
            }
            if (p.hint() != null) {
                o.put("hint", p.hint());
            }
        }
        return n;
    }
}
