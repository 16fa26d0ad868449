package org.llmwb.ui.layout.parts;

import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutAnalysis;
import org.llmwb.core.layout.LayoutColors;

/** What every edit part of one editor reads: the layout, its latest analysis, and the overlay. */
public final class LayoutContext {
    private final Layout layout;
    private LayoutAnalysis.Report report;
    private LayoutColors.ColorBy colorBy = LayoutColors.ColorBy.ROLE;

    public LayoutContext(Layout layout, LayoutAnalysis.Report report) {
        this.layout = layout;
        this.report = report;
    }

    public Layout layout() {
        return layout;
    }

    public LayoutAnalysis.Report report() {
        return report;
    }

    public void setReport(LayoutAnalysis.Report r) {
        report = r;
    }

    public LayoutColors.ColorBy colorBy() {
        return colorBy;
    }

    public void setColorBy(LayoutColors.ColorBy c) {
        colorBy = c;
    }

    /** The model of the "idle GPUs" box: GPUs in no pool. */
    public record Unassigned(Layout layout) {
    }
}
