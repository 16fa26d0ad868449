package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.llmwb.ui.EnginePerspective;
import org.llmwb.ui.InferencePerspective;
import org.llmwb.ui.views.BatchingTimelineView;
import org.llmwb.ui.views.LiveEngineRun;
import org.llmwb.ui.views.RunnerView;

/**
 * The Batching Timeline on the issue-6 lessons, run on the CPU through the runner process: a disaggregated
 * run has a lane per (worker, sequence) and names its workers; a speculative run shows verify steps and its
 * acceptance.
 */
class ServingViewsUITest {
    private static RunnerView runner;

    /** Runs an experiment of the repository ({@code experiment}: its path under the repository root) in the Runner view. */
    static BatchingTimelineView run(String experiment, int points) throws Exception {
        PlatformUI.getWorkbench().showPerspective(EnginePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        BatchingTimelineView timeline = Ui.show(BatchingTimelineView.ID, BatchingTimelineView.class);
        runner = Ui.show(RunnerView.ID, RunnerView.class);
        runner.selectBackend("cpu");
        Path file = Path.of(System.getProperty("llmwb.repo", "../..")).resolve(experiment).toAbsolutePath().normalize();
        runner.load(Files.readString(file), file);
        RunnerView.RunExperimentJobHandle h = runner.runExperiment();
        Ui.waitFor("the run to finish", 300_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        Ui.waitFor("every point's record", 10_000, () -> LiveEngineRun.get().records().size() == points);
        Ui.spin(400);
        return timeline;
    }

    @AfterAll
    static void back() throws Exception {
        if (runner != null) {
            runner.stopRunner();
        }
        PlatformUI.getWorkbench().showPerspective(InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
    }

    @Test
    void disaggregatedRunHasALanePerWorkerAndSequence() throws Exception {
        BatchingTimelineView t = run("lessons/12-disaggregation/disaggregation.llmwb.yaml", 2);
        t.showPoint(1); // disaggregated
        assertTrue(t.infoText().contains("workers decode-0, prefill-0"), t.infoText());
        // every request is prefilled on the prefill worker and decoded on the decode worker: two lanes each
        assertEquals(32, t.lanes().size(), t.lanes().toString());
        assertTrue(t.lanes().stream().anyMatch(l -> "decode-0".equals(l.pool())) && t.lanes().stream().anyMatch(l -> "prefill-0".equals(l.pool())));
        screenshot("disaggregation");
        t.showPoint(0); // aggregated over two engines
        assertTrue(t.infoText().contains("workers aggregated-0, aggregated-1"), t.infoText());
        assertEquals(16, t.lanes().size(), t.lanes().toString());
    }

    @Test
    void speculativeRunShowsItsAcceptance() throws Exception {
        BatchingTimelineView t = run("lessons/engine/speculative-decoding.llmwb.yaml", 3);
        t.showPoint(0); // plain
        assertTrue(!t.infoText().contains("speculative"), t.infoText());
        t.showPoint(1); // n-gram
        assertTrue(t.infoText().matches(".*speculative: \\d+ of \\d+ drafts accepted \\(\\d+%\\).*"), t.infoText());
        screenshot("speculative");
        assertTrue(LiveEngineRun.get().steps(1).stream().anyMatch(s -> s.drafted() > 0 && s.parts().stream().anyMatch(p -> p.decode() && p.count() > 1)),
                "verify steps carry their drafts");
    }

    /** With -Dllmwb.screenshots=DIR (a person's look at the views, not part of the assertions): the screen as a PNG. */
    static void screenshot(String name) throws Exception {
        String dir = System.getProperty("llmwb.screenshots");
        if (dir == null || dir.isBlank()) {
            return;
        }
        Ui.spin(600);
        java.nio.file.Files.createDirectories(Path.of(dir));
        new ProcessBuilder("import", "-window", "root", Path.of(dir, name + ".png").toString()).inheritIO().start().waitFor();
    }
}
