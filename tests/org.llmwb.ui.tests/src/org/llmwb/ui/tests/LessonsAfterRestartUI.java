package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.swt.widgets.Event;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.Test;
import org.llmwb.core.lesson.Lesson;
import org.llmwb.core.lesson.LessonState;
import org.llmwb.ui.LearnPerspective;
import org.llmwb.ui.views.LessonsView;

/**
 * The workbench restarted: run by the build's second test execution (a new JVM and a new workbench, with the learner's
 * home as its {@code user.home}) after {@link LessonsViewUITest} left lesson 1 at its quiz. The Lessons view must open
 * that lesson by itself at the step the learner reached, with the prediction, the run's measured values and the graded
 * quiz read back from disk, and the observe step must judge the saved prediction against the saved measurement.
 * (Its name does not end in "Test" so the first execution does not pick it up.)
 */
class LessonsAfterRestartUI {
    @Test
    void theRestartedWorkbenchResumesTheLessonWhereTheLearnerLeftIt() throws Exception {
        Path home = Path.of(System.getProperty("user.home"));
        Path progress = LessonState.file(home, "01-prefill-decode");
        assertTrue(Files.isRegularFile(progress), progress + " is missing: LessonsViewUITest writes it in the first test execution of this build");
        PlatformUI.getWorkbench().showPerspective(LearnPerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        LessonsView v = Ui.show(LessonsView.ID, LessonsView.class);
        assertNotNull(v.state(), "the view resumed a lesson by itself: " + v.lastMessage());
        Lesson l = v.state().lesson();
        assertEquals("01-prefill-decode", l.id());
        int quiz = -1;
        int observe = -1;
        Lesson.Predict predict = null;
        for (int i = 0; i < l.steps().size(); i++) {
            Lesson.Step s = l.steps().get(i);
            if (s instanceof Lesson.Quiz) {
                quiz = i;
            } else if (s instanceof Lesson.Observe && observe < 0) {
                observe = i;
            } else if (s instanceof Lesson.Predict p && predict == null) {
                predict = p;
            }
        }
        assertEquals(quiz, v.state().step(), "at the quiz, where the learner stopped");
        assertEquals(quiz, v.stepsTable().getSelectionIndex(), "the step list shows it");
        assertNotNull(predict);
        assertEquals(0, ((Number) v.state().answer(predict.id())).intValue(), "the prediction was kept");
        assertTrue(v.state().hasRun("serving"), "the run's records were kept");
        assertTrue(v.state().value("prefillOverDecode") > 1, "and its measured values: " + v.state().value("prefillOverDecode"));
        Lesson.Quiz q = (Lesson.Quiz) l.steps().get(quiz);
        assertEquals(q.questions().size(), v.state().score()[1], "every graded question was kept");
        String done = v.catalogTable().getItem(v.catalogTable().getSelectionIndex()).getText(4);
        assertEquals((quiz + 1) + "/" + l.steps().size(), done.replace("✓ ", ""), "the catalog shows the progress");
        ServingViewsUITest.screenshot("lesson-after-restart");
        // the observation judges the saved prediction against the saved measurement without a new run
        v.stepsTable().setSelection(observe);
        v.stepsTable().notifyListeners(org.eclipse.swt.SWT.Selection, new Event());
        Ui.spin(50);
        assertTrue(v.lastMessage().startsWith("You chose: the first token — right."), v.lastMessage());
    }
}
