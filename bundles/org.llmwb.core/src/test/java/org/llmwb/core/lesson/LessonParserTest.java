package org.llmwb.core.lesson;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;

/** The lesson format: the shipped lessons parse; bad lessons are refused at file:line:column with the reason. */
class LessonParserTest {
    @TempDir
    Path dir;

    static final String GOOD = """
            apiVersion: llmwb/v1
            kind: lesson
            id: 99-test
            title: Test
            values:
              v: {run: r, field: x, where: {k: a}}
            steps:
              - read: page.md
              - predict: {id: p, prompt: "guess", value: v}
              - run: {id: r, experiment: e.llmwb.yaml, cpu: {batch: 1}}
              - observe: {view: memory, value: v, prediction: p, explain: "it is {{v}}"}
              - quiz:
                  - {id: q, question: "?", options: [{text: a, correct: true, why: w}, {text: b, why: w}], explain: e}
            claims:
              - {value: v, range: [1, 3]}
            """;

    private Path lesson(String yaml) throws Exception {
        Files.writeString(dir.resolve("page.md"), "# Page\nThe value is {{v}}.\n");
        Files.writeString(dir.resolve("e.llmwb.yaml"), "apiVersion: llmwb/v1\n");
        Path f = dir.resolve("lesson.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    private String error(String yaml) throws Exception {
        Path f = lesson(yaml);
        return assertThrows(InputException.class, () -> LessonParser.parse(f)).getMessage();
    }

    @Test
    void aGoodLessonParsesAndItsValuesComeFromRuns() throws Exception {
        Lesson l = LessonParser.parse(lesson(GOOD));
        assertEquals(5, l.steps().size());
        assertEquals(List.of("batch=1"), ((Lesson.Run) l.steps().get(2)).cpu());
        LessonState st = new LessonState(l);
        assertEquals(null, st.value("v"));
        assertTrue(st.page(dir.resolve("page.md")).contains("(measured by run 'r')"));
        st.runDone("r", List.of(Map.of("k", "b", "x", 7), Map.of("k", "a", "x", 2.5)), null);
        assertEquals(2.5, st.value("v"));
        assertTrue(st.page(dir.resolve("page.md")).contains("The value is 2.500."), st.page(dir.resolve("page.md")));
        assertTrue(st.brokenClaims().isEmpty());
        st.runDone("r", List.of(Map.of("k", "a", "x", 9)), null);
        assertEquals(1, st.brokenClaims().size());
        assertTrue(st.brokenClaims().get(0).contains("lesson.yaml:15:5"), st.brokenClaims().get(0));
    }

    @Test
    void progressSurvivesASaveAndLoadAndADamagedFileSaysSo() throws Exception {
        Lesson l = LessonParser.parse(lesson(GOOD));
        LessonState st = new LessonState(l);
        st.runDone("r", List.of(Map.of("k", "a", "x", 2)), dir);
        st.answer("p", 3.0, null);
        st.answer("q", List.of(0), true);
        st.step(4);
        Path f = LessonState.file(dir, l.id());
        st.save(f);
        LessonState back = LessonState.load(l, f);
        assertEquals(4, back.step());
        assertEquals(2.0, back.value("v"));
        assertEquals(1, back.score()[0]);
        try (Stream<Path> s = Files.list(f.getParent())) {
            assertEquals(1, s.count(), "no temporary file left beside progress.json");
        }
        Files.writeString(f, "{\"step\": ");
        assertTrue(assertThrows(InputException.class, () -> LessonState.load(l, f)).getMessage().contains("llmwb lesson reset 99-test"));
    }

    @Test
    void theLastLessonIsRememberedFromAFreshHome(@org.junit.jupiter.api.io.TempDir Path home) throws Exception {
        assertEquals(null, LessonState.last(home), "nothing opened yet");
        LessonState.rememberLast(home, "03-kv-cache"); // no ~/.llmwb yet
        assertEquals("03-kv-cache", LessonState.last(home));
        LessonState.rememberLast(home, "01-prefill-decode");
        assertEquals("01-prefill-decode", LessonState.last(home));
        Files.writeString(home.resolve(".llmwb/lessons/last-lesson"), "../../etc\n");
        assertEquals(null, LessonState.last(home), "a damaged file names no lesson");
    }

    @Test
    void badLessonsAreRefusedWhereTheProblemIs() throws Exception {
        assertTrue(error(GOOD.replace("  - read: page.md", "  - read: ../escape.md")).contains("lesson.yaml:8:11: error: '../escape.md' is outside the lesson's folder"));
        assertTrue(error(GOOD.replace("  - read: page.md", "  - read: missing.md")).contains("does not exist"));
        assertTrue(error(GOOD.replace("title: Test", "title: Test\nauthor: me")).contains("unknown key 'author'"));
        assertTrue(error(GOOD.replace("{run: r, field", "{run: nope, field")).contains("reads run 'nope', which no run step defines"));
        assertTrue(error(GOOD.replace("view: memory", "view: flames")).contains("unknown view 'flames'"));
        assertTrue(error(GOOD.replace("{text: a, correct: true, why: w}", "{text: a, why: w}")).contains("needs exactly one correct option"));
        assertTrue(error(GOOD.replace("id: q,", "id: p,")).contains("id 'p' is used twice"));
        assertTrue(error(GOOD.replace("value: v, prediction: p", "value: w, prediction: p")).contains("'w' is not a value of the lesson"));
        Files.writeString(dir.resolve("page.md"), "x\n{{nope}}\n");
        Path f = dir.resolve("lesson.yaml");
        Files.writeString(f, GOOD);
        String m = assertThrows(InputException.class, () -> LessonParser.parse(f)).getMessage();
        assertTrue(m.contains("page.md:2:1") && m.contains("{{nope}} is not a value"), m);
    }

    @Test
    void everyShippedLessonParses() throws Exception {
        Path lessons = Path.of("../../lessons");
        int n = 0;
        try (Stream<Path> s = Files.list(lessons)) {
            for (Path d : s.sorted().toList()) {
                if (Files.isRegularFile(d.resolve("lesson.yaml"))) {
                    Lesson l = LessonParser.parse(d.resolve("lesson.yaml"));
                    assertFalse(l.steps().isEmpty());
                    assertTrue(l.steps().stream().anyMatch(x -> x instanceof Lesson.Predict), l.id() + " has a prediction");
                    assertTrue(l.steps().stream().anyMatch(x -> x instanceof Lesson.Run), l.id() + " has a run");
                    assertTrue(l.steps().stream().anyMatch(x -> x instanceof Lesson.Observe), l.id() + " has an observation");
                    assertTrue(l.steps().stream().filter(x -> x instanceof Lesson.Quiz).mapToInt(x -> ((Lesson.Quiz) x).questions().size()).sum() >= 4,
                            l.id() + " has a quiz of at least 4 questions");
                    n++;
                }
            }
        }
        assertTrue(n >= 3, "lessons found: " + n);
    }
}
