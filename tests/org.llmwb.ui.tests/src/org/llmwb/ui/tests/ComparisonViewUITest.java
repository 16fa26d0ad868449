package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.swt.SWT;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.Test;
import org.llmwb.ui.InferencePerspective;
import org.llmwb.ui.ServingPerspective;
import org.llmwb.ui.views.ComparisonView;

/**
 * The Serving perspective's Comparison view: a benchmark folder and a simulation file of one workload side by side —
 * the table with each metric's difference from the reference (red beyond the tolerance, green within), the
 * differences in words, the CDF with one curve per source, and a bad path reported in the view.
 */
class ComparisonViewUITest {
    static String record(String kindField, double ttft, double itl, double tokS) {
        return "{" + kindField + "\"ttft_ms_p50\": " + ttft + ", \"itl_ms_p50\": " + itl + ", \"outputTokensPerS\": " + tokS
                + ", \"cdf\": {\"ttft_ms\": [" + ttft / 2 + ", " + ttft + ", " + ttft * 3 + "], \"itl_ms\": [" + itl / 2 + ", " + itl + ", " + itl * 2 + "]}}";
    }

    @Test
    void aBenchmarkAndASimulationSideBySide() throws Exception {
        Path dir = Files.createTempDirectory("llmwb-compare");
        Path bench = Files.createDirectories(dir.resolve("bench"));
        Files.writeString(bench.resolve("summary.json"), record("\"kind\": \"bench\", ", 100, 10, 1000));
        Path sim = dir.resolve("sim.json");
        Files.writeString(sim, record("\"stepModel\": \"calibrated\", ", 120, 10.2, 990));
        PlatformUI.getWorkbench().showPerspective(ServingPerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        ComparisonView v = Ui.show(ComparisonView.ID, ComparisonView.class);
        assertTrue(v.add(bench.toString()), v.status());
        assertTrue(v.add("simulated=" + sim), v.status());
        Ui.spin(100);
        assertNotNull(v.comparison());
        assertEquals(3, v.table().getColumnCount(), "metric + two sources");
        assertEquals("1 measured (reference)", v.table().getColumn(1).getText());
        TableItem ttft = v.table().getItem(0);
        assertEquals("TTFT p50 (ms)", ttft.getText(0));
        assertTrue(ttft.getText(2).endsWith("+20.0%"), ttft.getText(2));
        assertEquals(v.table().getDisplay().getSystemColor(SWT.COLOR_DARK_RED), ttft.getForeground(2), "beyond 5%: red");
        TableItem itl = v.table().getItem(1);
        assertTrue(itl.getText(2).endsWith("+2.0%"), itl.getText(2));
        assertEquals(v.table().getDisplay().getSystemColor(SWT.COLOR_DARK_GREEN), itl.getForeground(2), "within 5%: green");
        assertTrue(v.differencesText().startsWith("2 (simulated) vs 1 (measured): 2 of 3 metrics within 5%; largest difference TTFT p50"),
                v.differencesText());
        assertEquals(2, v.comparison().cdf("ttft_ms").lines().size());
        ServingViewsUITest.screenshot("comparison");
        assertFalse(v.add(dir.resolve("missing").toString()));
        assertTrue(v.status().contains("no such folder or file"), v.status());
        assertEquals(3, v.table().getColumnCount(), "a bad path leaves the comparison as it was");
        PlatformUI.getWorkbench().showPerspective(InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
    }
}
