package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.graphics.RGB;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.llmwb.core.plot.Palette;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.viz.PlotCanvas;

class RooflineViewUITest {
    private RooflineView view;

    @BeforeEach
    void open() throws Exception {
        view = Ui.show(RooflineView.ID, RooflineView.class);
        view.batchText().setText("8");
        view.gpuCombo().setText("h100-sxm");
        view.showCombo().setText("Model steps"); // an earlier test may have left a live kernel run on show
        view.recompute();
        Ui.spin(200);
    }

    @Test
    void plotsRoofsAndTheModelsPoints() {
        PlotCanvas plot = view.plot();
        PlotModel m = plot.getModel();
        assertNotNull(m);
        assertEquals(2, m.lines().size());
        assertTrue(m.lines().get(0).label().startsWith("BF16 989 TFLOP/s"), m.lines().get(0).label());
        assertEquals(2, m.markers().size());
        PlotModel.Marker decode = m.markers().get(0);
        assertEquals("decode b=8 (7.9 FLOP/B)".substring(0, 9), decode.label().substring(0, 9));
        // the decode marker is painted at its pixel in its colour
        Point p = plot.toPixel(decode.x(), decode.y());
        int[] c = Palette.rgb(decode.colorIndex() + 3);
        assertEquals(new RGB(c[0], c[1], c[2]), Ui.pixel(plot, p.x, p.y));
    }

    @Test
    void hoverShowsTheNumbers() {
        PlotCanvas plot = view.plot();
        PlotModel.Marker decode = plot.getModel().markers().get(0);
        Point p = plot.toPixel(decode.x(), decode.y());
        Ui.mouseMove(plot, p.x + 2, p.y + 1);
        String tip = plot.getToolTipText();
        assertNotNull(tip);
        assertTrue(tip.contains("bound by: memory bandwidth") && tip.contains("intensity:"), tip);
        Ui.mouseMove(plot, 2, 2);
        assertNull(plot.getToolTipText());
    }

    @Test
    void batchMovesDecodeTowardsTheRidge() {
        double ai8 = view.plot().getModel().markers().get(0).x();
        view.batchText().setText("128");
        view.recompute();
        double ai128 = view.plot().getModel().markers().get(0).x();
        // 16× the batch reuses each weight 16× more, but each sequence still reads its own 2048-token KV,
        // so intensity rises ~5.6× (7.5 → 41.7 FLOP/B), not 16×
        assertTrue(ai128 > 5 * ai8 && ai128 < 16 * ai8, ai8 + " → " + ai128);
        view.batchText().setText("0");
        view.recompute();
        assertTrue(view.errorText().contains("batch must be between 1"), view.errorText());
    }

    @Test
    void userDefinedGpusAreOfferedAndLabelled() {
        view.gpuCombo().setText("lab-gpu");
        view.recompute();
        PlotModel m = view.plot().getModel();
        assertTrue(m.lines().get(0).label().endsWith("(user-defined)"), m.lines().get(0).label());
        assertTrue(m.lines().get(0).label().startsWith("BF16 400 TFLOP/s · 1.00 TB/s"), m.lines().get(0).label());
        view.gpuCombo().setText("h100-sxm");
        view.showCombo().setText("Model steps"); // an earlier test may have left a live kernel run on show
        view.recompute();
        assertTrue(view.plot().getModel().lines().get(0).label().endsWith("(datasheet)"));
    }

    @Test
    void exportsWhatItShowsAsPngSvgAndCsv() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("llmwb-roofline");
        for (String ext : new String[] {"png", "svg", "csv"}) {
            java.nio.file.Path f = dir.resolve("roofline." + ext);
            org.llmwb.ui.views.PlotExports.write(f, view.plot().getModel());
            byte[] b = java.nio.file.Files.readAllBytes(f);
            String head = new String(b, 0, Math.min(200, b.length), java.nio.charset.StandardCharsets.ISO_8859_1);
            switch (ext) {
                case "png" -> assertTrue(head.startsWith("\u0089PNG"), head);
                case "svg" -> assertTrue(head.contains("<svg"), head);
                default -> assertTrue(new String(b, java.nio.charset.StandardCharsets.UTF_8).contains("decode"), head);
            }
        }
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(3, files.count(), "no temp files left behind");
        }
    }
}
