package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;

import org.eclipse.core.resources.IMarker;
import org.eclipse.draw2d.IFigure;
import org.eclipse.draw2d.geometry.Rectangle;
import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.ui.IWorkbenchPage;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.llmwb.core.layout.LayoutColors;
import org.llmwb.core.layout.LayoutPresets;
import org.llmwb.ui.LayoutPerspective;
import org.llmwb.ui.WorkbenchActions;
import org.llmwb.ui.layout.ExportDialog;
import org.llmwb.ui.layout.LayoutEditor;
import org.llmwb.ui.layout.parts.GpuEditPart;
import org.llmwb.ui.layout.parts.GpuFigure;
import org.llmwb.ui.layout.parts.PoolEditPart;
import org.llmwb.ui.workspace.Markers;

/** The Parallelism Layout editor on the real workbench: presets, a real mouse drag, the live panel, markers, undo, exports. */
class LayoutEditorUITest {

    private static IWorkbenchPage page() {
        return PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage();
    }

    /** Leaves the window as the other tests expect it: no editors, the Inference perspective. */
    @AfterEach
    void close() throws Exception {
        page().closeAllEditors(false);
        PlatformUI.getWorkbench().showPerspective(org.llmwb.ui.InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        Ui.spin(100);
    }

    private static TableItem memoryRow(LayoutEditor ed, String gpu) {
        return Arrays.stream(ed.panel().memoryTable().getItems()).filter(i -> i.getText(0).equals(gpu)).findFirst().orElseThrow();
    }

    private static List<String> problems(LayoutEditor ed) {
        return Arrays.stream(ed.panel().problemsTable().getItems()).map(i -> i.getText(0) + ": " + i.getText(1)).toList();
    }

    @Test
    void everyPresetOpensValidWithOneFigurePerGpu() throws Exception {
        for (LayoutPresets.Preset p : LayoutPresets.all()) {
            LayoutEditor ed = WorkbenchActions.openLayoutPreset(page(), p.id());
            Ui.spin(200);
            assertEquals(LayoutPerspective.ID, page().getPerspective().getId());
            assertTrue(ed.report().valid(), p.id() + ": " + ed.report().problems());
            int gpus = 0;
            for (Object c : ed.diagram().getChildren()) {
                gpus += ((PoolEditPart) c).getChildren().size();
            }
            assertEquals(ed.layout().allGpus().size(), gpus, p.id());
            assertEquals(ed.layout().allGpus().size(), ed.panel().memoryTable().getItemCount());
            assertTrue(ed.panel().summaryText().contains("valid"), ed.panel().summaryText());
            assertTrue(Arrays.stream(Markers.of(ed.file())).noneMatch(m -> m.getAttribute(IMarker.SEVERITY, 0) == IMarker.SEVERITY_ERROR));
        }
    }

    @Test
    void draggingAGpuToAnotherPoolChangesTheMemoryPanelAndMarksTheFile() throws Exception {
        assumeTrue(Ui.hasXdotool(), "needs xdotool for a real mouse drag (apt install xdotool; .ci/run installs it)");
        LayoutEditor ed = WorkbenchActions.openLayoutPreset(page(), "llama3-70b-disagg-2node");
        Ui.spin(300);
        assertEquals("decode", memoryRow(ed, "node1/7").getText(1));
        String decodeWeights = memoryRow(ed, "node1/7").getText(2);
        assertTrue(decodeWeights.startsWith("8.4"), decodeWeights); // a TP8 shard of 70B in FP8

        GpuEditPart gpu = (GpuEditPart) ed.diagram().pool("decode").getChildren().get(7);
        PoolEditPart prefill = ed.diagram().pool("prefill");
        Control canvas = ed.viewer().getControl();
        ed.viewer().reveal(gpu);
        Ui.spin(200);
        Point from = center(gpu.getFigure());
        Rectangle target = bounds(prefill.getContentPane());
        Ui.drag(canvas, from, new Point(target.right() - 6, target.bottom() - 6));
        Ui.waitFor("the GPU in the prefill pool", 5_000, () -> ed.layout().poolOf(ed.layout().gpu("node1/7")).name().equals("prefill"));

        // the panel: node1/7 now holds a TP2 shard (4x the weights), and both pools are partial
        assertEquals("prefill", memoryRow(ed, "node1/7").getText(1));
        assertTrue(memoryRow(ed, "node1/7").getText(2).startsWith("33."), memoryRow(ed, "node1/7").getText(2));
        assertTrue(problems(ed).stream().anyMatch(p -> p.startsWith("error") && p.contains("'decode': 7 GPUs do not make whole replicas of TP8")),
                problems(ed).toString());
        assertTrue(ed.panel().summaryText().contains("2 errors"), ed.panel().summaryText());
        // the figure: the moved GPU is drawn inside the prefill box with its new rank
        GpuFigure moved = ((GpuEditPart) ed.diagram().pool("prefill").getChildren().stream()
                .filter(c -> ((GpuEditPart) c).gpu().id().equals("node1/7")).findFirst().orElseThrow()).gpuFigure();
        assertTrue(moved.ranksText().startsWith("rank 8"), moved.ranksText());
        // the Problems view's markers
        IMarker[] markers = Markers.of(ed.file());
        assertTrue(Arrays.stream(markers).anyMatch(m -> m.getAttribute(IMarker.SEVERITY, 0) == IMarker.SEVERITY_ERROR
                && m.getAttribute(IMarker.MESSAGE, "").contains("'decode'")), Arrays.toString(markers));
        assertTrue(ed.isDirty());

        // undo through the command stack puts everything back
        ed.commandStack().undo();
        Ui.spin(100);
        assertEquals("decode", memoryRow(ed, "node1/7").getText(1));
        assertEquals(decodeWeights, memoryRow(ed, "node1/7").getText(2));
        assertTrue(ed.report().valid());
        assertTrue(Arrays.stream(Markers.of(ed.file())).noneMatch(m -> m.getAttribute(IMarker.SEVERITY, 0) == IMarker.SEVERITY_ERROR));
        ed.commandStack().redo();
        Ui.spin(100);
        assertEquals("prefill", memoryRow(ed, "node1/7").getText(1));
    }

    @Test
    void overlaysRecolourTheGpusAndTheLegend() throws Exception {
        LayoutEditor ed = WorkbenchActions.openLayoutPreset(page(), "deepseek-r1-tp2-ep4");
        Ui.spin(200);
        ed.panel().colorByCombo().select(LayoutColors.ColorBy.EP_GROUP.ordinal());
        ed.panel().colorByCombo().notifyListeners(org.eclipse.swt.SWT.Selection, new org.eclipse.swt.widgets.Event());
        Ui.spin(200);
        assertEquals(List.of("EP group 0", "EP group 1", "EP group 2", "EP group 3"),
                ed.panel().legendEntries().stream().map(LayoutColors.Entry::label).toList());
        PoolEditPart serve = ed.diagram().pool("serve");
        int[] first = ((GpuEditPart) serve.getChildren().get(0)).gpuFigure().rgb();
        int[] last = ((GpuEditPart) serve.getChildren().get(7)).gpuFigure().rgb();
        assertTrue(!Arrays.equals(first, last), "EP group 0 and 3 share a colour");
        assertTrue(ed.panel().commTable().getItemCount() > 0);
        assertTrue(Arrays.stream(ed.panel().commTable().getItems()).anyMatch(i -> i.getText(2).startsWith("all-to-all")));
    }

    @Test
    void exportsEngineFlagsAndImages() throws Exception {
        LayoutEditor ed = WorkbenchActions.openLayoutPreset(page(), "llama3-70b-tp4-dp2");
        Ui.spin(200);
        ExportDialog d = new ExportDialog(ed.getSite().getShell(), ed.layout().name(),
                org.llmwb.core.layout.LayoutExport.all(ed.layout(), ed.report()));
        d.setBlockOnOpen(false);
        d.open();
        try {
            assertEquals(5, d.tabs().getItemCount(), "vLLM, SGLang, TensorRT-LLM, Dynamo and the llmwb bench line");
            assertTrue(d.selectedText().contains("vllm serve meta-llama/Meta-Llama-3-70B-Instruct --tensor-parallel-size 4 --data-parallel-size 2"),
                    d.selectedText());
            d.tabs().setSelection(4);
            d.tabs().notifyListeners(org.eclipse.swt.SWT.Selection, new org.eclipse.swt.widgets.Event());
            Ui.spin(100);
            assertEquals("llmwb bench", d.tabs().getItem(4).getText());
            ServingViewsUITest.screenshot("layout-export-bench");
        } finally {
            d.close();
        }
        byte[] png = ed.pngBytes();
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
        assertNotNull(ed.getAdapter(org.eclipse.ui.views.contentoutline.IContentOutlinePage.class));
    }

    private static Point center(IFigure f) {
        Rectangle r = bounds(f);
        return new Point(r.x + r.width / 2, r.y + r.height / 2);
    }

    private static Rectangle bounds(IFigure f) {
        Rectangle r = f.getBounds().getCopy();
        f.translateToAbsolute(r);
        return r;
    }
}
