package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;
import org.llmwb.ui.views.BatchingTimelineView;
import org.llmwb.ui.views.KvCacheView;
import org.llmwb.ui.views.LatencyView;
import org.llmwb.ui.views.RunnerView;

/** Watch the engine batch and page: KV Cache on the left, Batching Timeline and Latency on the right, the Runner below. */
public class EnginePerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.engine";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        String editor = layout.getEditorArea();
        layout.setEditorAreaVisible(false);
        layout.addView(KvCacheView.ID, IPageLayout.LEFT, 0.4f, editor);
        layout.addView(BatchingTimelineView.ID, IPageLayout.RIGHT, 0.6f, KvCacheView.ID);
        IFolderLayout lat = layout.createFolder("latency", IPageLayout.BOTTOM, 0.5f, BatchingTimelineView.ID);
        lat.addView(LatencyView.ID);
        layout.addView(RunnerView.ID, IPageLayout.BOTTOM, 0.62f, KvCacheView.ID);
        layout.addPerspectiveShortcut(InferencePerspective.ID);
        layout.addPerspectiveShortcut(KernelLabPerspective.ID);
        layout.addPerspectiveShortcut(LayoutPerspective.ID);
        layout.addPerspectiveShortcut(LearnPerspective.ID);
    }
}
