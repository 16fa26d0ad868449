package org.llmwb.ui;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.ui.IViewReference;
import org.eclipse.ui.IWorkbenchWindow;
import org.llmwb.core.result.Json;
import org.llmwb.ui.views.MemoryKvView;
import org.llmwb.ui.views.RooflineView;

/** What a started workbench shows, as JSON, for the product smoke test. */
final class SmokeReport {
    private SmokeReport() {
    }

    static String of(IWorkbenchWindow w, long startupMillis) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("title", w.getShell().getText());
        r.put("perspective", w.getActivePage().getPerspective().getId());
        List<String> views = new ArrayList<>();
        for (IViewReference v : w.getActivePage().getViewReferences()) {
            views.add(v.getId());
            if (v.getView(false) instanceof MemoryKvView m) {
                r.put("memorySummary", m.summaryText());
            }
            if (v.getView(false) instanceof RooflineView rv && rv.plot().getModel() != null) {
                r.put("rooflineMarkers", rv.plot().getModel().markers().size());
                r.put("rooflineLines", rv.plot().getModel().lines().size());
            }
        }
        r.put("views", views);
        r.put("startupMillis", startupMillis);
        return Json.pretty(r);
    }
}
