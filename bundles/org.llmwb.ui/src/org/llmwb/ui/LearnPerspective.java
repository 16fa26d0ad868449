package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;
import org.llmwb.ui.views.BatchingTimelineView;
import org.llmwb.ui.views.KernelResultsView;
import org.llmwb.ui.views.KvCacheView;
import org.llmwb.ui.views.LatencyView;
import org.llmwb.ui.views.LessonsView;
import org.llmwb.ui.views.MemoryKvView;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;

/** Guided lessons: the Lessons view on the left, the views a lesson observes stacked on the right, the Runner below them. */
public class LearnPerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.learn";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        String editor = layout.getEditorArea();
        layout.setEditorAreaVisible(false);
        layout.addView(LessonsView.ID, IPageLayout.LEFT, 0.55f, editor);
        IFolderLayout views = layout.createFolder("observed", IPageLayout.RIGHT, 0.55f, LessonsView.ID);
        views.addView(LatencyView.ID);
        views.addView(RooflineView.ID);
        views.addView(MemoryKvView.ID);
        views.addView(KvCacheView.ID);
        views.addView(BatchingTimelineView.ID);
        views.addView(KernelResultsView.ID);
        layout.addView(RunnerView.ID, IPageLayout.BOTTOM, 0.6f, "observed");
        layout.addPerspectiveShortcut(InferencePerspective.ID);
        layout.addPerspectiveShortcut(EnginePerspective.ID);
        layout.addPerspectiveShortcut(KernelLabPerspective.ID);
        layout.addPerspectiveShortcut(LayoutPerspective.ID);
    }
}
