package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import org.eclipse.ui.IWorkbenchPage;
import org.eclipse.ui.IWorkbenchWindow;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.Test;
import org.llmwb.ui.InferencePerspective;
import org.llmwb.ui.LlmwbWorkbenchAdvisor;
import org.llmwb.ui.views.MemoryKvView;
import org.llmwb.ui.views.RooflineView;
import org.llmwb.ui.views.RunnerView;

class PerspectiveUITest {

    @Test
    void windowOpensOnTheInferencePerspectiveWithItsThreeViews() {
        IWorkbenchWindow w = PlatformUI.getWorkbench().getActiveWorkbenchWindow();
        assertEquals(LlmwbWorkbenchAdvisor.TITLE, w.getShell().getText());
        IWorkbenchPage page = w.getActivePage();
        assertEquals(InferencePerspective.ID, page.getPerspective().getId());
        List<String> ids = Arrays.stream(page.getViewReferences()).map(r -> r.getId()).toList();
        assertTrue(ids.containsAll(List.of(MemoryKvView.ID, RooflineView.ID, RunnerView.ID)), ids.toString());
    }
}
