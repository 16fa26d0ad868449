package org.llmwb.ui;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.swt.graphics.Point;
import org.eclipse.ui.PlatformUI;
import org.eclipse.ui.application.ActionBarAdvisor;
import org.eclipse.ui.application.IWorkbenchConfigurer;
import org.eclipse.ui.application.IActionBarConfigurer;
import org.eclipse.ui.application.IWorkbenchWindowConfigurer;
import org.eclipse.ui.application.WorkbenchAdvisor;
import org.eclipse.ui.application.WorkbenchWindowAdvisor;

/**
 * Opens one window on the Inference Workbench perspective. With {@code -Dllmwb.smoke.out=FILE}
 * (the product smoke test) it writes what the window shows to FILE once started and closes.
 */
public class LlmwbWorkbenchAdvisor extends WorkbenchAdvisor {
    public static final String TITLE = "LLM Inference Workbench";

    @Override
    public void initialize(IWorkbenchConfigurer configurer) {
        super.initialize(configurer);
        configurer.setSaveAndRestore(false);
        // workspace resources (markers, files) need the IDE's adapters, e.g. for the Problems view
        org.eclipse.ui.ide.IDE.registerAdapters();
    }

    @Override
    public org.eclipse.core.runtime.IAdaptable getDefaultPageInput() {
        return org.eclipse.core.resources.ResourcesPlugin.getWorkspace().getRoot();
    }

    @Override
    public boolean preShutdown() {
        try {
            org.eclipse.core.resources.ResourcesPlugin.getWorkspace().save(true, null);
        } catch (org.eclipse.core.runtime.CoreException e) {
            org.eclipse.core.runtime.ILog.of(getClass()).error("workspace save failed", e);
        }
        return super.preShutdown();
    }

    @Override
    public String getInitialWindowPerspectiveId() {
        return InferencePerspective.ID;
    }

    @Override
    public WorkbenchWindowAdvisor createWorkbenchWindowAdvisor(IWorkbenchWindowConfigurer configurer) {
        return new WorkbenchWindowAdvisor(configurer) {
            @Override
            public ActionBarAdvisor createActionBarAdvisor(IActionBarConfigurer abc) {
                return new LlmwbActionBarAdvisor(abc);
            }

            @Override
            public void preWindowOpen() {
                IWorkbenchWindowConfigurer c = getWindowConfigurer();
                c.setInitialSize(new Point(1280, 900));
                c.setShowCoolBar(false);
                c.setShowStatusLine(true);
                c.setShowProgressIndicator(true);
                c.setTitle(TITLE);
            }

            @Override
            public void postWindowOpen() {
                String out = System.getProperty("llmwb.smoke.out");
                if (out != null) {
                    long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
                    var display = getWindowConfigurer().getWindow().getShell().getDisplay();
                    display.timerExec(1500, () -> {
                        try {
                            Files.writeString(Path.of(out), SmokeReport.of(getWindowConfigurer().getWindow(), uptime));
                        } catch (Exception e) {
                            e.printStackTrace();
                        }
                        PlatformUI.getWorkbench().close();
                    });
                }
            }
        };
    }
}
