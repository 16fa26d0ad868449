package org.llmwb.runner.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Every lesson end to end at CPU sizes, as a learner in a terminal would run it with its answers file
 * ({@code llmwb lesson run ID --answers lessons/ID/answers.yaml --size cpu} in a real child process): every step
 * runs, the progress file records the runs and the score, and the run fails if a measured value leaves a range the
 * lesson's text claims.
 */
class LessonsEndToEndTest {
    @TempDir
    static Path home;

    @TestFactory
    Stream<DynamicTest> everyLessonRunsAtCpuSizesAndKeepsItsClaims() throws Exception {
        List<Path> lessons;
        try (Stream<Path> s = Files.list(Cli.repo().resolve("lessons"))) {
            lessons = s.filter(d -> Files.isRegularFile(d.resolve("lesson.yaml"))).sorted().toList();
        }
        assertFalse(lessons.isEmpty());
        return lessons.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> {
            Path answers = d.resolve("answers.yaml");
            assertTrue(Files.isRegularFile(answers), d + " has no answers.yaml for the CI run");
            Cli.Result r = Cli.run(home, 300, "lesson", "run", d.getFileName().toString(), "--lessons", Cli.repo().resolve("lessons").toString(), "--answers",
                    answers.toString(), "--size", "cpu", "--restart");
            assertEquals(0, r.code(), r.out() + "\n" + r.err());
            JsonNode progress = Json.parse(Files.readString(home.resolve(".llmwb/lessons").resolve(d.getFileName().toString()).resolve("progress.json")));
            assertTrue(progress.get("runs").size() >= 1, "the lesson ran something: " + progress);
            assertTrue(r.out().contains("== done: quiz "), r.out());
            if (d.getFileName().toString().equals("01-prefill-decode")) {
                // a choice prediction is answered as the option chosen, not as a number
                assertTrue(r.out().contains("You chose: the first token"), r.out());
            }
        }));
    }

    @Test
    void aLessonAnsweredWrongStillRunsAndScoresItAndListShowsProgress() throws Exception {
        Path answers = home.resolve("wrong.yaml");
        Files.writeString(answers, "guess-kv8b: 1\nguess-cap: 1000\nq-gqa: a\nq-context: 5\nq-cap: [c]\nq-mla: c\ntry-70b.tp: 2\ntry-70b.pp: 1\n");
        Cli.Result r = Cli.run(home, 120, "lesson", "run", "03-kv-cache", "--lessons", Cli.repo().resolve("lessons").toString(), "--answers", answers.toString(),
                "--size", "cpu", "--restart");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("== done: quiz 0/4"), r.out());
        assertTrue(r.out().contains("outside 25%"), r.out());
        // the planner checks what the learner built: TP 2 cannot hold a 70B model's weights and 32 sequences
        assertTrue(r.out().contains("Not yet: "), r.out());
        Cli.Result list = Cli.run(home, 60, "lesson", "list", "--lessons", Cli.repo().resolve("lessons").toString());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("03-kv-cache") && l.contains("[done]")), list.out());
        // a missing answer is a clear error, not a hang
        Files.writeString(answers, "guess-kv8b: 1\n");
        Cli.Result miss = Cli.run(home, 60, "lesson", "run", "03-kv-cache", "--lessons", Cli.repo().resolve("lessons").toString(), "--answers", answers.toString(),
                "--size", "cpu", "--restart");
        assertEquals(1, miss.code());
        assertTrue(miss.err().contains("no answer for 'guess-cap'"), miss.err());
    }
}
