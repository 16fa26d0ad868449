package org.llmwb.core.engineview;

import java.util.List;

import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Engine steps as a Chrome trace (the JSON Perfetto, chrome://tracing and Trace Compass open):
 * one process per sweep point, one thread per sequence, a complete event per prefill chunk or
 * decode token spanning its step, instant events where a sequence finished or was preempted,
 * and counters for running/waiting sequences and KV blocks in use.
 */
public final class ChromeTrace {
    private ChromeTrace() {
    }

    public static String of(List<EngineStep> steps, String title) {
        ObjectNode root = Json.object();
        ArrayNode ev = root.putArray("traceEvents");
        java.util.Set<String> named = new java.util.HashSet<>();
        for (EngineStep s : steps) {
            int pid = s.point() + 1;
            if (named.add("p" + pid)) {
                ev.addObject().put("name", "process_name").put("ph", "M").put("pid", pid).putObject("args").put("name", title + " · point " + pid);
            }
            long ts = Math.round(s.t() * 1e6);
            long dur = Math.max(1, Math.round(s.seconds() * 1e6));
            for (EngineStep.Part p : s.parts()) {
                int tid = tid(s, p.seq());
                if (named.add("p" + pid + "t" + tid)) {
                    ev.addObject().put("name", "thread_name").put("ph", "M").put("pid", pid).put("tid", tid).putObject("args").put("name",
                            s.pool() == null ? "seq " + p.seq() : s.pool() + " · seq " + p.seq());
                }
                ObjectNode e = ev.addObject().put("name", p.decode() ? "decode" : "prefill " + p.start() + "–" + (p.start() + p.count()))
                        .put("cat", p.decode() ? "decode" : "prefill").put("ph", "X").put("ts", ts).put("dur", dur).put("pid", pid).put("tid", tid);
                e.putObject("args").put("step", s.index()).put("tokens", p.count()).put("batchPrefillTokens", s.prefillTokens())
                        .put("batchDecodeTokens", s.decodeTokens());
            }
            for (int f : s.finished()) {
                ev.addObject().put("name", "finished").put("ph", "i").put("s", "t").put("ts", ts + dur).put("pid", pid).put("tid", tid(s, f));
            }
            for (int f : s.preempted()) {
                ev.addObject().put("name", "preempted").put("ph", "i").put("s", "t").put("ts", ts).put("pid", pid).put("tid", tid(s, f));
            }
            ev.addObject().put("name", "sequences").put("ph", "C").put("ts", ts).put("pid", pid).putObject("args").put("running", s.running())
                    .put("waiting", s.waiting());
            ev.addObject().put("name", "KV blocks").put("ph", "C").put("ts", ts).put("pid", pid).putObject("args").put("used", s.usedBlocks())
                    .put("cachedFree", s.cachedFreeBlocks());
        }
        root.put("displayTimeUnit", "ms");
        return Json.line(root);
    }

    /** A sequence's thread: its id, offset per worker when several engines (each numbering from 0) served the run. */
    static int tid(EngineStep s, int seq) {
        return s.pool() == null ? seq : (Math.floorMod(s.pool().hashCode(), 1000) + 1) * 100_000 + seq;
    }
}
