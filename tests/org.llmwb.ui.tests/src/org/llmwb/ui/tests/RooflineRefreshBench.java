package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.eclipse.swt.SWT;
import org.junit.jupiter.api.Test;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.ui.views.LiveKernelRun;
import org.llmwb.ui.views.RooflineView;

/**
 * A benchmark, not a test: not in the default run (surefire includes *Test classes), it asserts
 * nothing about time, and it is skipped unless {@code -Dllmwb.bench=true}. It streams 1,000 kernel records into the live Roofline at about 500
 * records/s, as a fast sweep would, and counts how many distinct plot models the canvas painted
 * while they streamed. Run: {@code xvfb-run -a ./mvnw -o -pl tests/org.llmwb.ui.tests verify
 * -Dtest=RooflineRefreshBench -Dllmwb.bench.args=-Dllmwb.bench=true}; writes target/roofline-bench.txt.
 */
class RooflineRefreshBench {
    static final int RECORDS = 1000;
    static final int PER_TICK = 5;
    static final int TICK_MS = 10;

    @Test
    void refreshRateWhileASweepStreams() throws Exception {
        assumeTrue(Boolean.getBoolean("llmwb.bench"), "benchmark: run with -Dllmwb.bench=true");
        RooflineView view = Ui.show(RooflineView.ID, RooflineView.class);
        Map<PlotModel, Boolean> painted = new java.util.IdentityHashMap<>();
        int[] paints = {0};
        view.plot().addListener(SWT.Paint, e -> {
            paints[0]++;
            if (view.plot().getModel() != null) {
                painted.put(view.plot().getModel(), true);
            }
        });
        int[] sent = {0};
        long t0 = System.nanoTime();
        long[] tEnd = {0};
        Runnable tick = new Runnable() {
            @Override
            public void run() {
                for (int i = 0; i < PER_TICK && sent[0] < RECORDS; i++, sent[0]++) {
                    LiveKernelRun.get().add("bench", record(sent[0]));
                }
                if (sent[0] < RECORDS) {
                    Ui.display().timerExec(TICK_MS, this);
                } else {
                    tEnd[0] = System.nanoTime();
                }
            }
        };
        Ui.display().asyncExec(tick);
        Ui.waitFor("all records sent", 60_000, () -> tEnd[0] != 0);
        double streamS = (tEnd[0] - t0) / 1e9;
        int models = painted.size();
        Ui.spin(300);
        int markers = view.plot().getModel().markers().size();
        String out = String.format(java.util.Locale.ROOT,
                "records %d over %.2f s (%.0f records/s); distinct plot models painted while streaming: %d = %.1f updates/s; paint events %d;"
                        + " final plot has %d markers%n", RECORDS, streamS, RECORDS / streamS, models, models / streamS, paints[0], markers);
        System.out.print("ROOFLINE BENCH " + out);
        Files.writeString(Path.of("target/roofline-bench.txt"), out);
        LiveKernelRun.get().finish("bench", "ok");
    }

    /** A GPU-like record: a GEMV-shaped op whose size grows, so markers spread along the roofline. */
    static Map<String, Object> record(int i) {
        Map<String, Object> r = new LinkedHashMap<>();
        double n = 256 + 16 * i;
        double flops = 2 * n * n;
        double bytes = 2 * n * n + 4 * n;
        double ms = bytes / 2.5e12 * 1e3;
        r.put("op", i % 2 == 0 ? "gemv" : "copy");
        r.put("version", "v" + (i % 3));
        r.put("n", (int) n);
        r.put("medianMs", ms);
        r.put("flops", flops);
        r.put("bytes", bytes);
        r.put("tflops", flops / (ms / 1e3) / 1e12);
        r.put("gbs", bytes / (ms / 1e3) / 1e9);
        r.put("intensity", flops / bytes);
        r.put("backend", "cuda");
        r.put("device", "NVIDIA H100 80GB HBM3");
        r.put("roofBandwidth", 3.0e12);
        r.put("roofPeakFlops", 6.0e14);
        r.put("roofPeakName", "BF16 GEMM (measured)");
        return r;
    }
}
