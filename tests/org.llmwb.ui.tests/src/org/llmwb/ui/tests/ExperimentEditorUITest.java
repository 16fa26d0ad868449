package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.eclipse.core.resources.IMarker;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.jface.text.IDocument;
import org.eclipse.ui.IWorkbenchPage;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.llmwb.ui.KernelLabPerspective;
import org.llmwb.ui.WorkbenchActions;
import org.llmwb.ui.editors.ExperimentEditor;
import org.llmwb.ui.views.KernelResultsView;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;
import org.llmwb.ui.workspace.Markers;

/** The experiment editor marks schema errors at their line; Run sends the text through the runner into the Kernel Lab's views. */
class ExperimentEditorUITest {

    private static IWorkbenchPage page() {
        return PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage();
    }

    private static void assertSorted(KernelResultsView v, boolean ascending) {
        for (int i = 1; i < v.table().getItemCount(); i++) {
            double a = Double.parseDouble(v.table().getItem(i - 1).getText(4));
            double b = Double.parseDouble(v.table().getItem(i).getText(4));
            assertTrue(ascending ? a <= b : a >= b, "row " + i + ": " + a + " then " + b);
        }
    }

    /** Leaves the window as the other tests expect it: no editors, the Inference perspective, the model roofline. */
    @AfterEach
    void close() throws Exception {
        RooflineView roofline = Ui.show(RooflineView.ID, RooflineView.class);
        roofline.showCombo().setText("Model steps");
        roofline.recompute();
        page().closeAllEditors(false);
        PlatformUI.getWorkbench().showPerspective(org.llmwb.ui.InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        Ui.spin(100);
    }

    private static IMarker[] errors(ExperimentEditor ed) {
        return Arrays.stream(Markers.of(ed.file())).filter(m -> m.getAttribute(IMarker.SEVERITY, 0) == IMarker.SEVERITY_ERROR).toArray(IMarker[]::new);
    }

    @Test
    void aBrokenExperimentIsMarkedAtTheRightLineAndClearsWhenFixed() throws Exception {
        Path dir = Files.createTempDirectory("llmwb-exp");
        Path f = dir.resolve("broken.llmwb.yaml");
        Files.writeString(f, """
                apiVersion: llmwb/v1
                kind: calculator
                metadata:
                  name: broken
                spec:
                  calculator: kv
                  model: llama-3.1-8b
                  kvPrecision: bf16
                  batch: -3
                  context: 4096
                """);
        ExperimentEditor ed = (ExperimentEditor) WorkbenchActions.openFile(page(), f);
        assertEquals(KernelLabPerspective.ID, page().getPerspective().getId());
        Ui.waitFor("an error marker", 5_000, () -> errors(ed).length > 0);
        IMarker m = errors(ed)[0];
        assertEquals(9, m.getAttribute(IMarker.LINE_NUMBER, -1), m.getAttribute(IMarker.MESSAGE, ""));
        assertTrue(m.getAttribute(IMarker.MESSAGE, "").contains("-3"), m.getAttribute(IMarker.MESSAGE, ""));

        // typing the fix clears the marker after the pause, without saving
        IDocument doc = ed.getDocumentProvider().getDocument(ed.getEditorInput());
        doc.set(doc.get().replace("batch: -3", "batch: 8"));
        Ui.waitFor("the marker to clear", 5_000, () -> errors(ed).length == 0);
        // a misspelt key is marked at its own line
        doc.set(doc.get().replace("  context: 4096", "  contxt: 4096"));
        Ui.waitFor("the unknown key", 5_000, () -> Arrays.stream(errors(ed)).anyMatch(x -> x.getAttribute(IMarker.MESSAGE, "").contains("contxt")));
        IMarker unknown = Arrays.stream(errors(ed)).filter(x -> x.getAttribute(IMarker.MESSAGE, "").contains("contxt")).findFirst().orElseThrow();
        assertEquals(10, unknown.getAttribute(IMarker.LINE_NUMBER, -1), unknown.getAttribute(IMarker.MESSAGE, ""));
        ed.doSave(null);
        Ui.spin(100);
        assertTrue(Files.readString(f).contains("contxt: 4096"), "saving writes the file on disk");
    }

    @Test
    void runningAKernelSweepFromTheEditorFillsTheKernelLab() throws Exception {
        Path dir = Files.createTempDirectory("llmwb-exp");
        Path f = dir.resolve("cpu-sweep.llmwb.yaml");
        Files.writeString(f, RunnerViewUITest.CPU_SWEEP);
        ExperimentEditor ed = (ExperimentEditor) WorkbenchActions.openFile(page(), f);
        Ui.spin(200);
        assertEquals(0, errors(ed).length);
        RunnerView runner = Ui.show(RunnerView.ID, RunnerView.class);
        runner.selectBackend("cpu");
        RooflineView roofline = Ui.show(RooflineView.ID, RooflineView.class);
        KernelResultsView results = Ui.show(KernelResultsView.ID, KernelResultsView.class);
        RunnerView.RunExperimentJobHandle h = ed.run();
        Ui.waitFor("the run to finish", 90_000, () -> h.job().getResult() != null);
        assertEquals(IStatus.OK, h.job().getResult().getSeverity(), h.job().getResult().getMessage());
        Ui.waitFor("four rows", 5_000, () -> results.table().getItemCount() == 4);
        Ui.waitFor("four points", 5_000, () -> roofline.plot().getModel() != null && roofline.plot().getModel().markers().size() == 4);
        // sort by median time: ascending, then (same column again) descending
        results.sortBy(4);
        assertSorted(results, true);
        results.sortBy(4);
        assertSorted(results, false);
        results.filterText().setText("paged");
        Ui.spin(100);
        assertEquals(2, results.table().getItemCount());
        results.filterText().setText("");
        runner.stopRunner();
    }
}
