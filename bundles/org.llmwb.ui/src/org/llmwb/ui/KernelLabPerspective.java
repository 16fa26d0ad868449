package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;
import org.llmwb.ui.views.KernelResultsView;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;

/**
 * Run kernel sweeps and watch them land: the experiment editor and the Runner (where it runs,
 * progress) with Problems on the left, the live Roofline and the sortable results table on the right.
 */
public class KernelLabPerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.kernellab";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        String editor = layout.getEditorArea();
        layout.setEditorAreaVisible(true);
        layout.addView(RooflineView.ID, IPageLayout.RIGHT, 0.45f, editor);
        IFolderLayout left = layout.createFolder("left", IPageLayout.BOTTOM, 0.35f, editor);
        left.addView(RunnerView.ID);
        left.addView(IPageLayout.ID_PROBLEM_VIEW);
        layout.addView(KernelResultsView.ID, IPageLayout.BOTTOM, 0.62f, RooflineView.ID);
        layout.addPerspectiveShortcut(InferencePerspective.ID);
        layout.addPerspectiveShortcut(EnginePerspective.ID);
        layout.addPerspectiveShortcut(LayoutPerspective.ID);
        layout.addPerspectiveShortcut(LearnPerspective.ID);
    }
}
