package org.llmwb.ui.editors;

import java.nio.file.Path;
import java.util.List;

import org.eclipse.core.resources.IFile;
import org.eclipse.jface.action.Action;
import org.eclipse.jface.action.IMenuManager;
import org.eclipse.jface.text.DocumentEvent;
import org.eclipse.jface.text.IDocument;
import org.eclipse.jface.text.IDocumentListener;
import org.eclipse.swt.widgets.Display;
import org.eclipse.ui.IEditorInput;
import org.eclipse.ui.IFileEditorInput;
import org.eclipse.ui.PartInitException;
import org.eclipse.ui.editors.text.TextEditor;
import org.llmwb.core.Problem;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.experiment.ExperimentParser;
import org.llmwb.ui.views.RunnerView;
import org.llmwb.ui.workspace.Markers;

/**
 * A text editor for {@code *.llmwb.yaml} experiments. The experiment schema is checked as you type
 * (after a short pause) and on save; every problem becomes a Problems-view marker at its line,
 * shown in the ruler too. Run Experiment hands the text to the Runner view, which runs it in the
 * runner process and writes the same result folder as {@code llmwb run}.
 */
public class ExperimentEditor extends TextEditor {
    public static final String ID = "org.llmwb.ui.editors.experiment";
    private static final int PAUSE_MS = 400;
    private final Runnable validateLater = this::validate;
    private List<Problem> problems = List.of();

    private final IDocumentListener typing = new IDocumentListener() {
        @Override
        public void documentAboutToBeChanged(DocumentEvent e) {
        }

        @Override
        public void documentChanged(DocumentEvent e) {
            Display d = Display.getCurrent();
            if (d != null) {
                d.timerExec(-1, validateLater);
                d.timerExec(PAUSE_MS, validateLater);
            }
        }
    };

    @Override
    protected void doSetInput(IEditorInput input) throws org.eclipse.core.runtime.CoreException {
        IDocument old = getDocumentProvider() == null || getEditorInput() == null ? null : getDocumentProvider().getDocument(getEditorInput());
        if (old != null) {
            old.removeDocumentListener(typing);
        }
        super.doSetInput(input);
        IDocument doc = getDocumentProvider().getDocument(input);
        if (doc != null) {
            doc.addDocumentListener(typing);
        }
        validate();
    }

    @Override
    public void init(org.eclipse.ui.IEditorSite site, IEditorInput input) throws PartInitException {
        if (!(input instanceof IFileEditorInput)) {
            throw new PartInitException("the experiment editor opens workspace files; use File > Open File…");
        }
        super.init(site, input);
    }

    @Override
    protected void editorSaved() {
        super.editorSaved();
        validate();
    }

    /** Checks the current text against the experiment schema and replaces the file's markers. */
    public void validate() {
        IFile f = file();
        IDocument doc = getDocumentProvider() == null ? null : getDocumentProvider().getDocument(getEditorInput());
        if (f == null || doc == null) {
            return;
        }
        problems = ExperimentParser.validate(doc.get(), f.getName(), baseDir(), GpuCatalog.builtIn());
        Markers.replace(f, problems);
    }

    private Path baseDir() {
        IFile f = file();
        return f == null || f.getLocation() == null ? null : f.getLocation().toFile().toPath().toAbsolutePath().getParent();
    }

    public IFile file() {
        return getEditorInput() instanceof IFileEditorInput fi ? fi.getFile() : null;
    }

    public List<Problem> problems() {
        return problems;
    }

    public String text() {
        return getDocumentProvider().getDocument(getEditorInput()).get();
    }

    /** Runs the experiment as it is in the editor (saved or not) through the Runner view. */
    public RunnerView.RunExperimentJobHandle run() throws PartInitException {
        validate();
        RunnerView v = (RunnerView) getSite().getPage().showView(RunnerView.ID);
        IFile f = file();
        v.load(text(), f.getLocation() == null ? Path.of(f.getName()) : f.getLocation().toFile().toPath());
        return v.runExperiment();
    }

    @Override
    protected void editorContextMenuAboutToShow(IMenuManager menu) {
        super.editorContextMenuAboutToShow(menu);
        menu.add(new Action("Run Experiment") {
            @Override
            public void run() {
                try {
                    ExperimentEditor.this.run();
                } catch (PartInitException e) {
                    org.eclipse.jface.dialogs.MessageDialog.openError(getSite().getShell(), "Run", e.getMessage());
                }
            }
        });
    }

    @Override
    public void dispose() {
        Display d = Display.getCurrent();
        if (d != null) {
            d.timerExec(-1, validateLater);
        }
        super.dispose();
    }
}
