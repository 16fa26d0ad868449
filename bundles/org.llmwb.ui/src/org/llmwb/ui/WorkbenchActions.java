package org.llmwb.ui;

import java.nio.file.Path;

import org.eclipse.core.resources.IFile;
import org.eclipse.core.runtime.CoreException;
import org.eclipse.jface.dialogs.MessageDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.ui.IEditorPart;
import org.eclipse.ui.IWorkbenchPage;
import org.eclipse.ui.IWorkbenchWindow;
import org.eclipse.ui.PartInitException;
import org.eclipse.ui.ide.IDE;
import org.llmwb.core.layout.LayoutPresets;
import org.llmwb.ui.editors.ExperimentEditor;
import org.llmwb.ui.layout.LayoutEditor;
import org.llmwb.ui.workspace.WorkspaceFiles;

/** Opening layouts (presets or files) and experiments in their editors; used by menus and tests. */
public final class WorkbenchActions {
    private WorkbenchActions() {
    }

    /** Copies a preset into the workspace (once) and opens it in the layout editor. */
    public static LayoutEditor openLayoutPreset(IWorkbenchPage page, String presetId) throws CoreException {
        LayoutPresets.Preset p = LayoutPresets.get(presetId);
        IFile f = WorkspaceFiles.create("layouts", p.file(), p.text());
        return (LayoutEditor) IDE.openEditor(showPerspective(page, LayoutPerspective.ID), f, LayoutEditor.ID, true);
    }

    /** Opens a file from disk in the editor its name calls for (linked into the workspace, so saving writes the original). */
    public static IEditorPart openFile(IWorkbenchPage page, Path file) throws CoreException {
        IFile f = WorkspaceFiles.link(file);
        // plugin.xml maps extensions to editors; the registry says which one this file gets
        String editor = IDE.getEditorDescriptor(f, true, true).getId();
        String perspective = editor.equals(LayoutEditor.ID) ? LayoutPerspective.ID : editor.equals(ExperimentEditor.ID) ? KernelLabPerspective.ID : null;
        return IDE.openEditor(perspective == null ? page : showPerspective(page, perspective), f, editor, true);
    }

    /** Switches the page's window to a perspective (editors stay open across perspectives). */
    static IWorkbenchPage showPerspective(IWorkbenchPage page, String id) throws CoreException {
        if (page.getPerspective() == null || !page.getPerspective().getId().equals(id)) {
            return page.getWorkbenchWindow().getWorkbench().showPerspective(id, page.getWorkbenchWindow());
        }
        return page;
    }

    static void openFileDialog(IWorkbenchWindow w) {
        FileDialog d = new FileDialog(w.getShell(), SWT.OPEN);
        d.setText("Open a layout or an experiment");
        d.setFilterExtensions(new String[] {"*.llmwb-layout;*.llmwb.yaml;*.yaml", "*"});
        String f = d.open();
        if (f != null) {
            try {
                openFile(w.getActivePage(), Path.of(f));
            } catch (CoreException | RuntimeException e) {
                MessageDialog.openError(w.getShell(), "Open", "Cannot open " + f + ": " + e.getMessage());
            }
        }
    }

    static void runActiveExperiment(IWorkbenchWindow w) {
        IEditorPart e = w.getActivePage() == null ? null : w.getActivePage().getActiveEditor();
        if (e instanceof ExperimentEditor ex) {
            try {
                ex.run();
            } catch (PartInitException x) {
                MessageDialog.openError(w.getShell(), "Run", x.getMessage());
            }
        } else {
            MessageDialog.openInformation(w.getShell(), "Run Experiment", "Open an experiment (*.llmwb.yaml) in the editor first.");
        }
    }
}
