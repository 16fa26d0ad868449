package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.swt.custom.StyledText;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Event;
import org.eclipse.ui.IViewPart;
import org.eclipse.ui.PlatformUI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.llmwb.core.lesson.Lesson;
import org.llmwb.core.lesson.LessonState;
import org.llmwb.ui.InferencePerspective;
import org.llmwb.ui.LearnPerspective;
import org.llmwb.ui.views.LatencyView;
import org.llmwb.ui.views.LessonsView;
import org.llmwb.ui.views.RunnerView;

/**
 * Lesson 1 driven through the Lessons view the way a learner clicks it, on the CPU through the runner process:
 * the page is rendered, a prediction picked and saved, the run started with its button and finished, the
 * observation compares the prediction with the measured value and highlights the Latency view, the quiz is
 * answered and scored, and the progress file is read back when the view is closed and opened again; lesson 15 runs a
 * simulation through the runner and lesson 10's try step is checked by the planner. Lesson 1 goes last: it is the
 * lesson {@link LessonsAfterRestartUI} expects the restarted workbench to resume.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LessonsViewUITest {
    static String savedHome;
    static Path home;

    /**
     * The learner's home: -Dllmwb.test.learnerHome (the build's, emptied here) so that {@link LessonsAfterRestartUI}, run
     * by a second test execution in a new workbench, reads the progress this one leaves; a temporary folder otherwise.
     */
    @BeforeAll
    static void learnerHome() throws Exception {
        savedHome = System.getProperty("user.home");
        String fixed = System.getProperty("llmwb.test.learnerHome");
        if (fixed != null) {
            home = Path.of(fixed);
            if (Files.exists(home)) {
                try (java.util.stream.Stream<Path> w = Files.walk(home)) {
                    for (Path q : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(q);
                    }
                }
            }
            Files.createDirectories(home);
        } else {
            home = Files.createTempDirectory("llmwb-learner");
        }
        System.setProperty("user.home", home.toString());
    }

    @AfterAll
    static void back() throws Exception {
        System.setProperty("user.home", savedHome);
        RunnerView r = Ui.show(RunnerView.ID, RunnerView.class);
        r.stopRunner();
        PlatformUI.getWorkbench().showPerspective(InferencePerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
    }

    static Button button(LessonsView v, String startsWith) {
        return v.stepControls().stream().filter(c -> c instanceof Button b && b.getText().startsWith(startsWith)).map(c -> (Button) c).findFirst()
                .orElseThrow(() -> new AssertionError("no button '" + startsWith + "' in the step"));
    }

    static void click(Button b) {
        if ((b.getStyle() & (org.eclipse.swt.SWT.RADIO | org.eclipse.swt.SWT.CHECK)) != 0) {
            b.setSelection(true);
        }
        b.notifyListeners(org.eclipse.swt.SWT.Selection, new Event());
        Ui.spin(50);
    }

    static void next(LessonsView v) {
        v.stepsTable(); // the Next button is the view's; go through the steps table as a learner's click would
        int k = v.state().step() + 1;
        v.stepsTable().setSelection(k);
        v.stepsTable().notifyListeners(org.eclipse.swt.SWT.Selection, new Event());
        Ui.spin(50);
        assertEquals(k, v.state().step());
    }

    @Test
    @Order(3)
    void aLessonFromPageToQuizAndBack() throws Exception {
        PlatformUI.getWorkbench().showPerspective(LearnPerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        LessonsView v = Ui.show(LessonsView.ID, LessonsView.class);
        assertTrue(v.catalogTable().getItemCount() >= 11, "the catalog lists the lessons: " + v.catalogTable().getItemCount());
        v.openLesson("01-prefill-decode");
        // read: the page rendered from Markdown (no raw ** or # left)
        StyledText page = (StyledText) v.stepControls().stream().filter(c -> c instanceof StyledText).findFirst().orElseThrow();
        assertTrue(page.getText().contains("Prefill and decode") && !page.getText().contains("**") && !page.getText().startsWith("#"), page.getText());
        assertTrue(page.getStyleRanges().length > 0, "headings and emphasis are styled");
        ServingViewsUITest.screenshot("lesson-read");
        // predict: pick an option and save it
        next(v);
        Lesson.Predict p = (Lesson.Predict) v.state().lesson().steps().get(1);
        List<Button> radios = v.stepControls().stream().filter(c -> c instanceof Button b && (b.getStyle() & org.eclipse.swt.SWT.RADIO) != 0).map(c -> (Button) c).toList();
        assertEquals(p.options().size(), radios.size());
        click(radios.get(0));
        click(button(v, "Save my prediction"));
        assertEquals(0, ((Number) v.state().answer(p.id())).intValue());
        // run: through the Runner view, as a Job, on the CPU
        next(v);
        click(button(v, "Run"));
        assertNotNull(v.runningJob(), v.lastMessage());
        org.eclipse.core.runtime.jobs.Job job = v.runningJob();
        Ui.waitFor("the lesson's run to finish", 600_000, () -> job.getResult() != null);
        assertEquals(IStatus.OK, job.getResult().getSeverity(), job.getResult().getMessage());
        Ui.waitFor("the lesson to take the records", 20_000, () -> v.state().hasRun("serving"));
        assertTrue(v.state().value("prefillOverDecode") > 1, "the first token costs more than a later one on an idle server");
        ServingViewsUITest.screenshot("lesson-run");
        // observe: the prediction judged against the measurement, the Latency view highlighted
        next(v);
        assertTrue(v.lastMessage().startsWith("You chose: the first token — right."), v.lastMessage());
        click(button(v, "Show in the latency view"));
        IViewPart active = PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().findView(LatencyView.ID);
        assertNotNull(active);
        assertTrue(PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().isPartVisible(active), "the Latency view is shown");
        assertTrue(v.lastMessage().contains("Latency"), v.lastMessage());
        ServingViewsUITest.screenshot("lesson-observe");
        // to the quiz: answer every question with its first option and check each
        int quiz = -1;
        for (int i = 0; i < v.state().lesson().steps().size(); i++) {
            if (v.state().lesson().steps().get(i) instanceof Lesson.Quiz) {
                quiz = i;
            }
        }
        v.stepsTable().setSelection(quiz);
        v.stepsTable().notifyListeners(org.eclipse.swt.SWT.Selection, new Event());
        Ui.spin(50);
        Lesson.Quiz q = (Lesson.Quiz) v.state().lesson().steps().get(quiz);
        List<Control> controls = v.stepControls();
        List<Button> checks = controls.stream().filter(c -> c instanceof Button b && b.getText().equals("Check")).map(c -> (Button) c).toList();
        assertEquals(q.questions().size(), checks.size());
        for (Button check : checks) {
            Control first = check.getParent().getChildren()[1]; // the question label, then option a) or the number field
            if (first instanceof Button b) {
                click(b);
            } else {
                ((org.eclipse.swt.widgets.Text) first).setText("1");
            }
            click(check);
        }
        int[] score = v.state().score();
        assertEquals(q.questions().size(), score[1], "every question was graded");
        ServingViewsUITest.screenshot("lesson-quiz");
        // progress survives closing the view: read back from ~/.llmwb/lessons/01-prefill-decode/progress.json
        Path file = LessonState.file(home, "01-prefill-decode");
        assertTrue(Files.isRegularFile(file), file.toString());
        PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().hideView(v);
        Ui.spin(100);
        LessonsView again = Ui.show(LessonsView.ID, LessonsView.class);
        again.openLesson("01-prefill-decode");
        assertEquals(quiz, again.state().step());
        assertEquals(0, ((Number) again.state().answer(p.id())).intValue());
        assertTrue(again.state().hasRun("serving"));
        assertEquals(score[0], again.state().score()[0]);
    }

    @Test
    @Order(1)
    void aSimulatedClusterLessonRunsThroughTheRunner() throws Exception {
        PlatformUI.getWorkbench().showPerspective(LearnPerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        LessonsView v = Ui.show(LessonsView.ID, LessonsView.class);
        v.openLesson("15-serving-at-scale");
        next(v); // predict
        next(v); // run: a kind: serving-sim experiment through the Runner view
        click(button(v, "Run"));
        assertNotNull(v.runningJob(), v.lastMessage());
        org.eclipse.core.runtime.jobs.Job job = v.runningJob();
        Ui.waitFor("the simulation to finish", 300_000, () -> job.getResult() != null);
        assertEquals(IStatus.OK, job.getResult().getSeverity(), job.getResult().getMessage());
        Ui.waitFor("the lesson to take the records", 20_000, () -> v.state().hasRun("routing"));
        assertTrue(v.state().value("hitKv") > v.state().value("hitRr"), "KV-aware routing reuses more prefix than round-robin");
        next(v); // observe: the value, and the Latency view with the simulated points' CDFs
        click(button(v, "Show in the latency view"));
        IViewPart latency = PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().findView(LatencyView.ID);
        assertNotNull(latency);
        assertTrue(PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().isPartVisible(latency), "the Latency view is shown");
        Ui.spin(300);
        ServingViewsUITest.screenshot("lesson-sim");
    }

    @Test
    @Order(2)
    void aTryStepIsCheckedByThePlanner() throws Exception {
        PlatformUI.getWorkbench().showPerspective(LearnPerspective.ID, PlatformUI.getWorkbench().getActiveWorkbenchWindow());
        LessonsView v = Ui.show(LessonsView.ID, LessonsView.class);
        v.openLesson("10-parallelism");
        int tryStep = -1;
        for (int i = 0; i < v.state().lesson().steps().size(); i++) {
            if (v.state().lesson().steps().get(i) instanceof Lesson.Try) {
                tryStep = i;
            }
        }
        v.stepsTable().setSelection(tryStep);
        v.stepsTable().notifyListeners(org.eclipse.swt.SWT.Selection, new Event());
        Ui.spin(50);
        List<org.eclipse.swt.widgets.Text> fields = v.stepControls().stream().filter(c -> c instanceof org.eclipse.swt.widgets.Text).map(c -> (org.eclipse.swt.widgets.Text) c).toList();
        assertEquals(2, fields.size(), "tp and pp");
        // TP 2 cannot hold 100 sequences of 8K: the check says why
        fields.get(0).setText("2");
        fields.get(1).setText("1");
        click(button(v, "Check my plan"));
        Ui.waitFor("the plan check", 120_000, () -> !v.lastMessage().equals("checking…"));
        assertTrue(v.lastMessage().startsWith("Not yet:") && v.lastMessage().contains("maxSequencesPerReplica"), v.lastMessage());
        assertEquals(Boolean.FALSE, v.state().correct("try-fit"));
        fields.get(0).setText("8");
        click(button(v, "Check my plan"));
        Ui.waitFor("the plan check", 120_000, () -> !v.lastMessage().equals("checking…"));
        assertTrue(v.lastMessage().startsWith("It works"), v.lastMessage());
        assertEquals(Boolean.TRUE, v.state().correct("try-fit"));
        ServingViewsUITest.screenshot("lesson-try");
    }
}
