package org.llmwb.core.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

class RooflinePlotTest {

    @Test
    void roofsAndModelPoints() {
        GpuSpec h100 = GpuCatalog.builtIn().get("h100-sxm");
        PlotModel p = RooflinePlot.forModel(ModelPresets.of("llama-3.1-8b"), h100, Precision.BF16, Precision.BF16, 8, 2048, 2048);
        assertEquals(2, p.lines().size()); // bf16 and fp32 roofs
        double[] knee = p.lines().get(0).points().get(1);
        assertEquals(989.4 / 3.35, knee[0], 1e-9); // the ridge
        assertEquals(989.4, knee[1], 1e-9);
        assertEquals(2, p.markers().size());
        PlotModel.Marker decode = p.markers().get(0);
        // memory-bound decode sits on the slanted roof: y = AI × 3.35 TB/s
        assertEquals(decode.x() * 3.35, decode.y(), 1e-9);
        assertTrue(p.x().min() <= decode.x() && decode.x() <= p.x().max());
        // hover: the marker is found at its own pixel, not far away
        double px = p.x().fraction(decode.x()) * 600;
        double py = (1 - p.y().fraction(decode.y())) * 400;
        assertNotNull(p.nearest(px + 2, py - 2, 600, 400, 6));
        assertNull(p.nearest(px + 40, py, 600, 400, 6));
        String svg = SvgExport.render(p, 800, 600);
        assertTrue(svg.startsWith("<svg") && svg.contains("decode b=8") && svg.contains("ridge 295 FLOP/B"), svg);
        String csv = CsvExport.render(p);
        assertTrue(csv.startsWith("series,label,x,y,phase"), csv);
        assertEquals(3, csv.split("\n").length);
    }

    @Test
    void logAxisTicksAreDecades() {
        PlotModel.Axis a = new PlotModel.Axis("x", 0.1, 1000, true);
        assertEquals(java.util.List.of(0.1, 1.0, 10.0, 100.0, 1000.0), a.ticks());
        assertEquals(0.5, a.fraction(Math.sqrt(10) * 3.1622776601683795), 1e-9);
    }

    @Test
    void measuredRoofsAreDashedAndLabelled() {
        GpuSpec h100 = GpuCatalog.builtIn().get("h100-sxm");
        PlotModel p = RooflinePlot.withMeasured(h100, java.util.List.of("bf16"),
                new RooflinePlot.Measured(2.88e12, java.util.Map.of("bf16 mma.sync", 656e12), "llmwb ceilings"), java.util.List.of(),
                java.util.List.of());
        assertEquals(2, p.lines().size());
        PlotModel.Line m = p.lines().get(1);
        assertEquals("measured", m.kind());
        assertEquals("dashed", m.style());
        assertEquals(656e12 / 2.88e12, m.points().get(1)[0], 1e-9); // measured ridge ≈ 228 FLOP/B
        assertTrue(m.label().contains("(measured, llmwb ceilings)"), m.label());
        assertTrue(SvgExport.render(p, 600, 400).contains("stroke-dasharray"));
    }
}
