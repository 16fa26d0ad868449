package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;
import org.llmwb.ui.views.ComparisonView;
import org.llmwb.ui.views.LatencyView;
import org.llmwb.ui.views.RunnerView;

/**
 * Serving at scale: the Comparison view (a benchmark of an endpoint, engine runs and simulations of one workload side
 * by side) over the Latency view, the Runner for serving-sim, engine-run and bench experiments, and the editor area for
 * experiment files and layouts.
 */
public class ServingPerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.serving";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        String editor = layout.getEditorArea();
        layout.addView(ComparisonView.ID, IPageLayout.TOP, 0.55f, editor);
        IFolderLayout right = layout.createFolder("serving.right", IPageLayout.RIGHT, 0.6f, editor);
        right.addView(LatencyView.ID);
        layout.addView(RunnerView.ID, IPageLayout.BOTTOM, 0.5f, "serving.right");
        layout.addPerspectiveShortcut(InferencePerspective.ID);
        layout.addPerspectiveShortcut(EnginePerspective.ID);
        layout.addPerspectiveShortcut(LayoutPerspective.ID);
        layout.addPerspectiveShortcut(LearnPerspective.ID);
    }
}
