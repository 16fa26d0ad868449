package org.llmwb.ui;

import org.eclipse.ui.IFolderLayout;
import org.eclipse.ui.IPageLayout;
import org.eclipse.ui.IPerspectiveFactory;

/** The layout editor in the middle; Outline on the left; Properties and Problems below. */
public class LayoutPerspective implements IPerspectiveFactory {
    public static final String ID = "org.llmwb.ui.perspective.layout";

    @Override
    public void createInitialLayout(IPageLayout layout) {
        String editor = layout.getEditorArea();
        layout.setEditorAreaVisible(true);
        layout.addView(IPageLayout.ID_OUTLINE, IPageLayout.LEFT, 0.14f, editor);
        IFolderLayout bottom = layout.createFolder("bottom", IPageLayout.BOTTOM, 0.72f, editor);
        bottom.addView(IPageLayout.ID_PROP_SHEET);
        bottom.addView(IPageLayout.ID_PROBLEM_VIEW);
        layout.addPerspectiveShortcut(InferencePerspective.ID);
        layout.addPerspectiveShortcut(EnginePerspective.ID);
        layout.addPerspectiveShortcut(KernelLabPerspective.ID);
        layout.addPerspectiveShortcut(LearnPerspective.ID);
        layout.addShowViewShortcut(IPageLayout.ID_PROBLEM_VIEW);
    }
}
