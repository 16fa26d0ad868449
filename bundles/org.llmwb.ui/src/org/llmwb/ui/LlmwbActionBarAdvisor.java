package org.llmwb.ui;

import org.eclipse.core.runtime.CoreException;
import org.eclipse.jface.action.Action;
import org.eclipse.jface.action.IMenuManager;
import org.eclipse.jface.action.MenuManager;
import org.eclipse.jface.action.Separator;
import org.eclipse.jface.dialogs.MessageDialog;
import org.eclipse.ui.IWorkbenchWindow;
import org.eclipse.ui.actions.ActionFactory;
import org.eclipse.ui.actions.ContributionItemFactory;
import org.eclipse.ui.application.ActionBarAdvisor;
import org.eclipse.ui.application.IActionBarConfigurer;
import org.llmwb.core.layout.LayoutPresets;

/**
 * Menus: File (open presets and files, save, quit), Edit (undo/redo/delete), Run, Window (perspectives, views).
 * Our own menu ids keep the IDE bundle's file-menu contributions (meant for the Eclipse IDE) out.
 */
public class LlmwbActionBarAdvisor extends ActionBarAdvisor {
    public LlmwbActionBarAdvisor(IActionBarConfigurer configurer) {
        super(configurer);
    }

    @Override
    protected void makeActions(IWorkbenchWindow w) {
        register(ActionFactory.SAVE.create(w));
        register(ActionFactory.QUIT.create(w));
        register(ActionFactory.UNDO.create(w));
        register(ActionFactory.REDO.create(w));
        register(ActionFactory.DELETE.create(w));
    }

    @Override
    protected void fillMenuBar(IMenuManager bar) {
        IWorkbenchWindow w = getActionBarConfigurer().getWindowConfigurer().getWindow();
        MenuManager file = new MenuManager("&File", "llmwb.file");
        file.add(new Action("&Open File…") {
            @Override
            public void run() {
                WorkbenchActions.openFileDialog(w);
            }
        });
        MenuManager presets = new MenuManager("Open Layout &Preset");
        for (LayoutPresets.Preset p : LayoutPresets.all()) {
            presets.add(new Action(p.title()) {
                @Override
                public void run() {
                    try {
                        WorkbenchActions.openLayoutPreset(w.getActivePage(), p.id());
                    } catch (CoreException | RuntimeException e) {
                        MessageDialog.openError(w.getShell(), "Open preset", e.getMessage());
                    }
                }
            });
        }
        file.add(presets);
        file.add(new Separator());
        file.add(getAction(ActionFactory.SAVE.getId()));
        file.add(new Separator());
        file.add(getAction(ActionFactory.QUIT.getId()));
        bar.add(file);

        MenuManager edit = new MenuManager("&Edit", "llmwb.edit");
        edit.add(getAction(ActionFactory.UNDO.getId()));
        edit.add(getAction(ActionFactory.REDO.getId()));
        edit.add(new Separator());
        edit.add(getAction(ActionFactory.DELETE.getId()));
        bar.add(edit);

        MenuManager run = new MenuManager("&Run", "llmwb.run");
        run.add(new Action("Run &Experiment") {
            @Override
            public void run() {
                WorkbenchActions.runActiveExperiment(w);
            }
        });
        bar.add(run);

        MenuManager window = new MenuManager("&Window", "llmwb.window");
        MenuManager persp = new MenuManager("Open &Perspective");
        persp.add(ContributionItemFactory.PERSPECTIVES_SHORTLIST.create(w));
        window.add(persp);
        MenuManager views = new MenuManager("Show &View");
        views.add(ContributionItemFactory.VIEWS_SHORTLIST.create(w));
        window.add(views);
        bar.add(window);
    }
}
