package org.llmwb.ui.views;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The kernel records of the latest kernel-sweep run, as the runner streams them: the data the Roofline
 * view draws live. The Runner view feeds it on the UI thread; listeners are called there too. Kept apart
 * from both views so the plot does not depend on who ran the sweep (Trace Compass's data provider / viewer split).
 */
public final class LiveKernelRun extends LiveData {
    private static final LiveKernelRun INSTANCE = new LiveKernelRun();
    /** Keeps the live plot responsive on long sweeps; later records still reach the result folder. */
    static final int MAX_POINTS = 5000;

    private final List<Map<String, Object>> records = new ArrayList<>();
    private String runId;
    private String status = "no kernel run yet";

    public static LiveKernelRun get() {
        return INSTANCE;
    }

    /** True for a record of a kernel sweep (timed op with FLOPs and bytes). */
    public static boolean isKernelRecord(Map<String, Object> r) {
        return r.get("op") != null && r.get("medianMs") instanceof Number;
    }

    /** Adds a record of run {@code id}; a record of a new run starts a new plot. */
    public void add(String id, Map<String, Object> record) {
        if (!id.equals(runId)) {
            runId = id;
            records.clear();
        }
        if (records.size() < MAX_POINTS) {
            records.add(record);
        }
        status = "run " + id + ": " + records.size() + " kernel records";
        changed();
    }

    /** The run finished (status "ok", "cancelled" or an error message). */
    public void finish(String id, String how) {
        if (id.equals(runId)) {
            status = "run " + id + " " + how + ": " + records.size() + " kernel records";
            changed();
        }
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
