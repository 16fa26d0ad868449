package org.llmwb.core.engineview;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.SvgExport;

class ServingPlotsTest {
    @Test
    void theFrontierKeepsOnlyUndominatedPoints() {
        // (tokens/s per user, tokens/s per GPU): (10, 100) is beaten by (12, 110) on both; (5, 300) and (40, 50) are not
        List<double[]> pts = List.of(new double[] {10, 100}, new double[] {12, 110}, new double[] {5, 300}, new double[] {40, 50}, new double[] {40, 40});
        List<double[]> f = ServingPlots.frontier(pts);
        assertEquals(3, f.size());
        assertArrayEquals(new double[] {5, 300}, f.get(0));
        assertArrayEquals(new double[] {12, 110}, f.get(1));
        assertArrayEquals(new double[] {40, 50}, f.get(2));
    }

    @Test
    void paretoPlotIsPerGpuAndSkipsRecordsWithoutFigures() {
        List<Map<String, Object>> recs = List.of(Map.of("concurrency", 1, "user_tokens_per_s_p50", 30.0, "outputTokensPerS", 40.0),
                Map.of("concurrency", 8, "user_tokens_per_s_p50", 15.0, "outputTokensPerS", 160.0), Map.of("concurrency", 16, "errors", 16));
        PlotModel p = ServingPlots.pareto(recs, 4, "concurrency");
        assertEquals(2, p.markers().size());
        assertEquals(10.0, p.markers().get(0).y(), 1e-12);
        assertEquals(40.0, p.markers().get(1).y(), 1e-12);
        assertEquals("concurrency 8", p.markers().get(1).label());
        assertTrue(SvgExport.render(p, 600, 400).contains("Pareto frontier"));
    }

    @Test
    void latencyOverTimeIsOnePointPerRequestInSendOrder() {
        PlotModel p = ServingPlots.latencyOverTime(new double[] {2.0, 0.5, 1.0}, new double[] {30, 10, 20}, new double[] {300, 100, 200});
        assertEquals(2, p.lines().size());
        List<double[]> ttft = p.lines().get(0).points();
        assertEquals(0.5, ttft.get(0)[0], 0.0);
        assertEquals(10, ttft.get(0)[1], 0.0);
        assertEquals(30, ttft.get(2)[1], 0.0);
        assertEquals(300, p.lines().get(1).points().get(2)[1], 0.0);
        assertEquals(330, p.y().max(), 1e-9, "10% above the largest latency");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ServingPlots.latencyOverTime(new double[1], new double[2], new double[1]));
    }

    @Test
    void throughputOverTimeCountsTokensPerBin() {
        // 10 tokens in the first second, 5 in the second
        double[] t = new double[15];
        for (int i = 0; i < 10; i++) {
            t[i] = i * 0.1;
        }
        for (int i = 0; i < 5; i++) {
            t[10 + i] = 1.0 + i * 0.2;
        }
        PlotModel p = ServingPlots.throughputOverTime(t, 1.0);
        List<double[]> pts = p.lines().get(0).points();
        assertEquals(10.0, pts.get(0)[1], 1e-9);
        assertEquals(5 / 0.8, pts.get(2)[1], 1e-9); // the last bin is 0.8 s long (tokens up to 1.8 s)
    }

    @Test
    void linearTicksAreRoundMultiplesWithoutDrift() {
        List<Double> t = new PlotModel.Axis("x", 0, 1.1, false).ticks();
        assertEquals(6, t.size(), t.toString()); // steps of 0.2: 0 .. 1.0
        assertEquals(0.6, t.get(3), 1e-12);
        assertEquals(List.of(0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0), new PlotModel.Axis("x", 0, 35, false).ticks());
        assertEquals("0.3", SvgExport.tickLabel(0.30000000000000004));
        assertEquals("0", SvgExport.tickLabel(0));
        assertEquals("2000", SvgExport.tickLabel(2000));
        assertEquals("1000", SvgExport.tickLabel(1000), "a round thousand on a linear axis is not a decade label");
        assertEquals("1.5", SvgExport.tickLabel(1.5), "0.5 steps keep their half (were rounded to 2)");
        assertEquals("2.5", SvgExport.tickLabel(2.5));
        assertEquals("1e4", SvgExport.tickLabel(10_000));
        assertEquals("12000", SvgExport.tickLabel(12_000));
        assertEquals("0.005", SvgExport.tickLabel(0.005));
        assertEquals("1e-3", SvgExport.tickLabel(0.001));
    }
}
