package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.llmwb.core.engineview.EngineStep;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.result.Json;
import org.llmwb.ui.EnginePerspective;
import org.llmwb.ui.InferencePerspective;
import org.llmwb.ui.views.BatchingTimelineView;
import org.llmwb.ui.views.KvCacheView;
import org.llmwb.ui.views.LatencyView;
import org.llmwb.ui.views.LiveEngineRun;
import org.llmwb.ui.views.RunnerView;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The Engine perspective's three views fed by a real engine run on the CPU (the shipped
 * prefix-caching lesson: caching off, then on), streamed from the runner process.
 */
class EngineViewsUITest {
    private static RunnerView runner;
    private static KvCacheView kv;
    private static BatchingTimelineView timeline;
    private static LatencyView latency;

    @BeforeAll
    static void run() throws Exception {
        PlatformUI.getWorkbench().showPerspective(EnginePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        kv = Ui.show(KvCacheView.ID, KvCacheView.class);
        timeline = Ui.show(BatchingTimelineView.ID, BatchingTimelineView.class);
        latency = Ui.show(LatencyView.ID, LatencyView.class);
        runner = Ui.show(RunnerView.ID, RunnerView.class);
        runner.selectBackend("cpu");
        Path lesson = Path.of(System.getProperty("llmwb.repo", "../..")).resolve("lessons/05-prefix-caching/engine.llmwb.yaml").toAbsolutePath().normalize();
        runner.load(Files.readString(lesson), lesson);
        RunnerView.RunExperimentJobHandle h = runner.runExperiment();
        // live: steps reach the KV view while the run goes on
        Ui.waitFor("the first engine step in the KV view", 120_000, () -> kv.shownStep() != null);
        Ui.waitFor("the run to finish", 300_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        Ui.waitFor("both points' records", 10_000, () -> LiveEngineRun.get().records().size() == 2);
        Ui.spin(400);
    }

    @AfterAll
    static void back() throws Exception {
        runner.stopRunner();
        PlatformUI.getWorkbench().showPerspective(InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
    }

    @Test
    void kvCacheViewShowsSharedPrefixBlocksAndBlockTables() {
        // point #2 has prefix caching: some step holds a block shared by several sequences
        List<EngineStep> cached = LiveEngineRun.get().steps(1);
        int withShared = -1;
        for (int i = 0; i < cached.size(); i++) {
            if (cached.get(i).sharedBlocks() > 0) {
                withShared = i;
                break;
            }
        }
        assertTrue(withShared >= 0, "no shared block in the prefix-caching point");
        kv.followButton().setSelection(false);
        kv.slider().setSelection(withShared);
        kv.refresh();
        EngineStep s = kv.shownStep();
        assertEquals(1, s.point());
        assertTrue(s.sharedBlocks() > 0);
        assertTrue(kv.statsText().contains("shared"), kv.statsText());
        assertEquals(s.tables().size(), kv.tablesTable().getItemCount());
        assertTrue(Arrays.stream(kv.tablesTable().getItems()).anyMatch(i -> i.getText(2).contains("×")), "a table lists a shared block with its count");
        // point #1 (no caching) never shares
        assertTrue(LiveEngineRun.get().steps(0).stream().allMatch(x -> x.sharedBlocks() == 0));
    }

    @Test
    void timelineHasALanePerRequestAndExportsAChromeTrace() throws Exception {
        timeline.refresh();
        assertEquals(16, timeline.lanes().size(), "16 requests, one lane each");
        assertTrue(timeline.infoText().contains("steps"), timeline.infoText());
        JsonNode trace = Json.MAPPER.readTree(timeline.traceJson());
        JsonNode ev = trace.get("traceEvents");
        assertTrue(ev.size() > 100, "events " + ev.size());
        long prefill = 0;
        long decode = 0;
        for (JsonNode e : ev) {
            if ("X".equals(e.path("ph").asText())) {
                assertTrue(e.path("dur").asLong() > 0);
                if (e.path("cat").asText().equals("prefill")) {
                    prefill++;
                } else {
                    decode++;
                }
            }
        }
        // 16 requests × 8 output tokens: the first comes from the prefill step, 7 from decode steps, in each of 2 points
        assertEquals(2 * 16 * 7, decode);
        assertTrue(prefill >= 2 * 16, "prefill chunks " + prefill);
    }

    private static PlotModel m0(LatencyView v) {
        return v.plot().getModel();
    }

    @Test
    void latencyViewTabulatesBothPointsAndDrawsTheirCdfs() {
        latency.refresh();
        // 6 metrics + a throughput row per point
        assertEquals(2 * 7, latency.table().getItemCount());
        assertEquals("#2", latency.table().getItem(13).getText(0));
        assertTrue(latency.table().getToolTipText().contains("paged+prefix"), latency.table().getToolTipText());
        assertTrue(latency.table().getItem(13).getText(2).endsWith("tok/s"), latency.table().getItem(13).getText(2));
        assertTrue(m0(latency).lines().get(1).label().contains("paged+prefix"));
        PlotModel m = latency.plot().getModel();
        assertEquals(2, m.lines().size());
        for (PlotModel.Line l : m.lines()) {
            assertTrue(l.points().size() > 90, l.label() + ": " + l.points().size() + " of 101 quantiles are positive");
            double prev = -1;
            for (double[] p : l.points()) {
                assertTrue(p[1] >= prev, "CDF must not decrease");
                prev = p[1];
            }
        }
    }
}
