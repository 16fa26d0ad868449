package org.llmwb.core.lesson;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.llmwb.core.SourceLocation;

/**
 * A guided lesson ({@code lessons/NN-slug/lesson.yaml}): a question walked to a number the learner predicted, then
 * measured or computed by the lesson's own runs, then explained. Declarative only: pages are Markdown files and runs
 * are experiment files, both inside the lesson's folder; nothing in a lesson can run code or write outside the
 * learner's run folders. Every number a page states comes from a named {@link Value} ({@code {{name}}} in the page),
 * which a run computes; {@link Claim}s are the ranges the text asserts, checked after every run.
 */
public record Lesson(String id, String title, String level, int minutes, String needs, String summary, Path dir, SourceLocation location,
        Map<String, Value> values, List<Step> steps, List<Claim> claims) {

    /**
     * A number taken from a run's records: {@code field} of the records matching {@code where}, aggregated by
     * {@code pick}; or, with {@code over}, the ratio of two other values ({@code run} and {@code field} then name the
     * numerator value in {@code field}).
     */
    public record Value(String name, String run, String field, Map<String, String> where, String pick, String unit, String format,
            SourceLocation location, String over) {
    }

    /** The text asserts {@code value} lies in [lo, hi]; the CI run of every lesson fails when a measurement leaves it. */
    public record Claim(String value, double lo, double hi, String text, SourceLocation location) {
    }

    /** One answer option of a choice question, with why it is right or wrong. */
    public record Option(String text, boolean correct, String why) {
    }

    /** A quiz question: single or multiple choice, or a number (checked against a value or a constant, ± tolerance). */
    public record Question(String id, String type, String question, List<Option> options, String answerValue, Double answer, double tolerance,
            String explain, SourceLocation location) {
    }

    public sealed interface Step permits Read, Predict, Run, Observe, Quiz, Try {
        SourceLocation location();
    }

    /** A Markdown page of the lesson folder. */
    public record Read(Path page, SourceLocation location) implements Step {
    }

    /** The learner commits to a number (or a choice) before the run; compared later with {@code value}. */
    public record Predict(String id, String prompt, String value, double tolerance, List<Option> options, SourceLocation location) implements Step {
    }

    /**
     * An experiment of the lesson folder. {@code cpu} and {@code gpu} are the settings ({@code key=value}, as
     * {@code llmwb run --set}) for a machine without and with a GPU: the lesson declares both sizes.
     */
    public record Run(String id, Path experiment, List<String> cpu, List<String> gpu, SourceLocation location) implements Step {
    }

    /** Look at the result: the view that shows it, the value that matters, the prediction it answers, and why. */
    public record Observe(String view, String value, String prediction, String explain, SourceLocation location) implements Step {
    }

    public record Quiz(List<Question> questions, SourceLocation location) implements Step {
    }

    /**
     * An open exercise checked by the planner: the learner gives the settings ({@code key=value}) of a {@code plan}
     * calculator run; the check passes when the plan is valid and every {@code require} bound holds on its record.
     */
    public record Try(String id, String prompt, Map<String, String> fixed, List<String> ask, Map<String, Double> atLeast, Map<String, Double> atMost,
            SourceLocation location) implements Step {
    }
}
