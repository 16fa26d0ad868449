package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;
import org.llmwb.ui.views.MemoryKvView;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;

/** Memory & KV on the left, the Roofline on the right, the Runner below. */
public class InferencePerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.inference";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        layout.setEditorAreaVisible(false);
        String editor = layout.getEditorArea();
        IFolderLayout bottom = layout.createFolder("bottom", IPageLayout.BOTTOM, 0.64f, editor);
        bottom.addView(RunnerView.ID);
        layout.addView(MemoryKvView.ID, IPageLayout.LEFT, 0.95f, editor);
        layout.addView(RooflineView.ID, IPageLayout.RIGHT, 0.42f, MemoryKvView.ID);
        layout.getViewLayout(MemoryKvView.ID).setCloseable(false);
        layout.getViewLayout(RooflineView.ID).setCloseable(false);
        layout.addPerspectiveShortcut(KernelLabPerspective.ID);
        layout.addPerspectiveShortcut(LayoutPerspective.ID);
        layout.addPerspectiveShortcut(EnginePerspective.ID);
        layout.addPerspectiveShortcut(LearnPerspective.ID);
    }
}
