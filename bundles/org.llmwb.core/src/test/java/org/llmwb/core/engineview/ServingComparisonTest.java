package org.llmwb.core.engineview;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.llmwb.core.plot.PlotModel;

class ServingComparisonTest {
    static Map<String, Object> rec(String kind, double ttftP50, double itlP50, double tokS) {
        Map<String, Object> r = new HashMap<>();
        if (kind.equals("bench")) {
            r.put("kind", "bench");
        } else if (kind.equals("sim")) {
            r.put("stepModel", "roofline");
        }
        r.put("ttft_ms_p50", ttftP50);
        r.put("itl_ms_p50", itlP50);
        r.put("outputTokensPerS", tokS);
        r.put("cdf", Map.of("ttft_ms", List.of(ttftP50 / 2, ttftP50, ttftP50 * 2)));
        return r;
    }

    @Test
    void differencesAreRelativeToTheReferenceAndMarkedBeyondTheTolerance() {
        ServingComparison c = new ServingComparison(List.of(new ServingComparison.Source("bench", rec("bench", 100, 10, 1000)),
                new ServingComparison.Source("engine", rec("engine", 104, 12, 990)), new ServingComparison.Source("sim", rec("sim", 80, 10, 1500))), 0, 0.05);
        List<ServingComparison.Row> rows = c.rows();
        assertEquals(3, rows.size(), "only the metrics some source has");
        ServingComparison.Row ttft = rows.get(0);
        assertEquals("ttft_ms_p50", ttft.metric().field());
        assertTrue(Double.isNaN(ttft.diff()[0]), "the reference has no difference");
        assertEquals(0.04, ttft.diff()[1], 1e-12);
        assertEquals(-0.2, ttft.diff()[2], 1e-12);
        assertEquals(0.5, rows.get(2).diff()[2], 1e-12);
        String md = c.markdown();
        assertTrue(md.contains("| TTFT p50 (ms) | 100.0 | 104.0 (+4.0%) | 80.00 (-20.0% ✗) |"), md);
        assertTrue(md.contains("bench (measured, reference)") && md.contains("sim (simulated)"), md);
        List<String> d = c.differences();
        assertEquals(2, d.size());
        assertTrue(d.get(0).startsWith("2 (engine) vs 1 (measured): 2 of 3 metrics within 5%; largest difference ITL p50 12.00 vs 10.00 ms (+20.0%)"), d.get(0));
        assertTrue(d.get(1).contains("largest difference output throughput 1,500 vs 1,000 tok/s (+50.0%)"), d.get(1));
        assertEquals(0.5, c.worst(), 1e-12);
        // another reference: the simulator's view of the others
        ServingComparison bySim = new ServingComparison(c.sources(), 2, 0.05);
        assertEquals(0.25, bySim.rows().get(0).diff()[0], 1e-12);
    }

    @Test
    void aMissingMetricIsADashNotAZero() {
        Map<String, Object> partial = rec("engine", 50, 5, 100);
        partial.remove("itl_ms_p50");
        ServingComparison c = new ServingComparison(List.of(new ServingComparison.Source("a", rec("bench", 50, 5, 100)), new ServingComparison.Source("b", partial)), 0,
                0.05);
        ServingComparison.Row itl = c.rows().get(1);
        assertTrue(Double.isNaN(itl.values()[1]) && Double.isNaN(itl.diff()[1]));
        assertTrue(c.text().contains("—"), c.text());
        assertTrue(c.differences().get(0).contains("2 of 2 metrics within 5%"), c.differences().get(0));
    }

    @Test
    void theCdfHasOneLineLabelledPerSource() {
        ServingComparison c = new ServingComparison(List.of(new ServingComparison.Source("bench", rec("bench", 100, 10, 1)),
                new ServingComparison.Source("sim", rec("sim", 80, 10, 1))), 0, 0.05);
        PlotModel p = c.cdf("ttft_ms");
        assertEquals(2, p.lines().size());
        assertEquals("1 measured: bench", p.lines().get(0).label());
        assertEquals("2 simulated: sim", p.lines().get(1).label());
        assertEquals(40, p.lines().get(1).points().get(0)[0], 1e-12);
    }

    @Test
    void badArgumentsAreRefused() {
        ServingComparison.Source a = new ServingComparison.Source("a", rec("bench", 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ServingComparison(List.of(a), 0, 0.05));
        assertThrows(IllegalArgumentException.class, () -> new ServingComparison(List.of(a, a), 2, 0.05));
        assertThrows(IllegalArgumentException.class, () -> new ServingComparison(List.of(a, a), 0, Double.NaN));
    }
}
