package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.swt.widgets.TableItem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;

/** Starts the real runner child process from the build's runner/lib and talks to it. */
class RunnerViewUITest {
    private RunnerView view;

    @BeforeEach
    void open() throws Exception {
        view = Ui.show(RunnerView.ID, RunnerView.class);
        view.startRunner();
        Ui.waitFor("the runner's hello", 30_000, () -> rows("hello").size() > 0);
        assertTrue(view.statusText().startsWith("runner running (pid"), view.statusText());
    }

    @AfterEach
    void stop() {
        view.stopRunner();
        Ui.waitFor("the runner to stop", 10_000, () -> !view.runnerAlive());
    }

    private List<TableItem> rows(String event) {
        return Arrays.stream(view.table().getItems()).filter(i -> i.getText(0).equals(event)).toList();
    }

    @Test
    void runsTheDefaultExperimentAsAJob() {
        view.experimentText().setText(RunnerView.DEFAULT_EXPERIMENT);
        int before = view.table().getItemCount();
        RunnerView.RunExperimentJobHandle h = view.runExperiment();
        Ui.waitFor("the run to finish", 60_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        Ui.waitFor("the completed row", 5_000, () -> rows("completed").stream().anyMatch(r -> r.getText(1).equals(h.id())));
        TableItem done = rows("completed").stream().filter(r -> r.getText(1).equals(h.id())).findFirst().orElseThrow();
        assertEquals("ok, 9 records", done.getText(2));
        List<TableItem> records = rows("record").stream().filter(r -> r.getText(1).equals(h.id())).toList();
        assertEquals(9, records.size());
        assertTrue(records.get(0).getText(2).contains("Llama-3.1-8B ctx 1024 × 1: 128.00 MiB"), records.get(0).getText(2));
        assertTrue(view.table().getItemCount() > before);
    }

    @Test
    void aBrokenExperimentShowsItsErrorInPlace() {
        view.experimentText().setText("apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  modle: llama-2-7b\n");
        RunnerView.RunExperimentJobHandle h = view.runExperiment();
        Ui.waitFor("the run to fail", 30_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.ERROR, h.job().getResult().getSeverity());
        Ui.waitFor("the error row", 5_000, () -> rows("error").stream().anyMatch(r -> r.getText(1).equals(h.id())));
        TableItem err = rows("error").stream().filter(r -> r.getText(1).equals(h.id())).findFirst().orElseThrow();
        assertTrue(err.getText(2).contains("workbench.llmwb.yaml:5:3"), err.getText(2));
        Ui.waitFor("the status text", 5_000, () -> view.runStatusText().contains("did you mean 'model'"));
    }

    static final String CPU_SWEEP = """
            apiVersion: llmwb/v1
            kind: kernel-sweep
            metadata:
              name: ui-cpu-attention
            spec:
              op: decode_attention
              batch: 2
              heads: 8
              kvHeads: 2
              headDim: 64
              blockSize: 16
              runs: 3
              sweep:
                context: [64, 300]
                version: [contiguous, paged]
            """;

    @Test
    void aKernelSweepOnTheCpuLandsOnTheRooflineLive() throws Exception {
        view.selectBackend("cpu");
        view.experimentText().setText(CPU_SWEEP);
        RooflineView roofline = Ui.show(RooflineView.ID, RooflineView.class);
        RunnerView.RunExperimentJobHandle h = view.runExperiment();
        // the view switches itself to the live kernel run as soon as the first record arrives
        Ui.waitFor("the first kernel point", 60_000, () -> roofline.showCombo().getText().equals("Kernel run (live)")
                && roofline.plot().getModel() != null && !roofline.plot().getModel().markers().isEmpty());
        Ui.waitFor("the run to finish", 60_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        Ui.waitFor("all four points", 5_000, () -> roofline.plot().getModel().markers().size() == 4);
        PlotModel m = roofline.plot().getModel();
        // the CPU's roofs are measured by the runner (ND4J copy and GEMM), drawn as such, and every point sits under them
        assertTrue(m.lines().stream().anyMatch(l -> l.label().contains("FP32 GEMM (ND4J)") && l.label().contains("(measured)")), m.lines().toString());
        for (PlotModel.Marker mk : m.markers()) {
            assertEquals("decode_attention", mk.series());
            assertEquals("cpu", mk.details().get("backend"));
            assertTrue(mk.x() > 0 && mk.y() > 0, mk.toString());
        }
        Ui.waitFor("the finished run in the details", 5_000, () -> roofline.detailsText().getText().contains(h.id() + " ok: 4 kernel records"));
        roofline.showCombo().setText("Model steps");
        Ui.waitFor("the model roofline back", 5_000, () -> roofline.plot().getModel().markers().size() == 2);
    }

    @Test
    void aDeadRunnerIsReportedAndCanBeRestarted() {
        view.stopRunner();
        Ui.waitFor("the exit to be reported", 10_000, () -> view.statusText().startsWith("runner exited with code"));
        assertTrue(view.statusText().contains("press Start runner to restart"), view.statusText());
        view.startRunner();
        Ui.waitFor("the restarted runner", 30_000, () -> view.statusText().startsWith("runner running"));
    }

    @Test
    void aCustomRunnerCommandStartsTheRunnerThroughIt() throws Exception {
        view.stopRunner();
        Ui.spin(300);
        // what "ssh gpu-host llmwb serve --stdio" does, without a network: a wrapper command (env) that execs a runner
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("env", "LLMWB_VIA=wrapper"));
        cmd.addAll(org.llmwb.core.protocol.RunnerClient.command(org.llmwb.core.protocol.RunnerClient.currentJava(),
                java.nio.file.Path.of(System.getProperty("llmwb.runner.lib"))));
        cmd.addAll(java.util.List.of("serve", "--stdio"));
        view.runnerCommandText().setText(String.join(" ", cmd.stream().map(a -> a.contains(" ") ? "\"" + a + "\"" : a).toList()));
        RunnerView.RunExperimentJobHandle h = view.runExperiment();
        Ui.waitFor("the run to finish", 60_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        assertTrue(view.statusText().contains("LLMWB_VIA=wrapper"), view.statusText());
        // a command that does not exist is reported in place
        view.stopRunner();
        Ui.spin(300);
        view.runnerCommandText().setText("no-such-runner-binary serve --stdio");
        view.startRunner();
        Ui.waitFor("the start error", 5_000, () -> view.runStatusText().contains("Cannot start the runner"));
        view.runnerCommandText().setText("");
    }
}
