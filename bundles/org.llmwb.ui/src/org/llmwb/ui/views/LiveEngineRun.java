package org.llmwb.ui.views;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.llmwb.core.engineview.EngineStep;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The latest engine-run's steps (every {@code engine-step} event) and its per-point records, as the
 * runner streams them: what the KV Cache, Batching Timeline and Latency views draw. Fed by the
 * Runner view on the UI thread; listeners are called there. A new run id starts afresh.
 */
public final class LiveEngineRun extends LiveData {
    private static final LiveEngineRun INSTANCE = new LiveEngineRun();
    /** Steps kept per run (a long trace still reaches steps-N.jsonl in the result folder). */
    static final int MAX_STEPS = 20_000;

    private final List<EngineStep> steps = new ArrayList<>();
    private final List<Map<String, Object>> records = new ArrayList<>();
    private String runId;
    private String status = "no engine run yet";

    public static LiveEngineRun get() {
        return INSTANCE;
    }

    /** True for an engine-run record (it carries the latency CDFs). */
    public static boolean isEngineRecord(Map<String, Object> r) {
        return r.get("cdf") != null && r.get("outputTokensPerS") != null;
    }

    private void runOf(String id) {
        if (!id.equals(runId)) {
            runId = id;
            steps.clear();
            records.clear();
        }
    }

    public void step(String id, int point, JsonNode step) {
        runOf(id);
        if (steps.size() < MAX_STEPS) {
            steps.add(EngineStep.of(point, step));
        }
        status = "run " + id + ": " + steps.size() + " steps";
        changed();
    }

    public void record(String id, Map<String, Object> rec) {
        runOf(id);
        records.add(rec);
        changed();
    }

    public void finish(String id, String how) {
        if (id.equals(runId)) {
            status = "run " + id + " " + how + ": " + steps.size() + " steps, " + records.size() + " point(s)";
            changed();
        }
    }

    public List<EngineStep> steps() {
        return List.copyOf(steps);
    }

    /** Steps of one sweep point. */
    public List<EngineStep> steps(int point) {
        return steps.stream().filter(s -> s.point() == point).toList();
    }

    public List<Map<String, Object>> records() {
        return List.copyOf(records);
    }

    public String runId() {
        return runId;
    }

    public String status() {
        return status;
    }
}
