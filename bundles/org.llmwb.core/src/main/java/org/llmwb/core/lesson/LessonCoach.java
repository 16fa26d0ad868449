package org.llmwb.core.lesson;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;

import org.llmwb.core.result.Json;

/**
 * What a lesson says back to the learner, shared by the terminal runner ({@code llmwb lesson run}) and the
 * workbench's Lessons view so both judge the same way: text with its {@code {{value}}} placeholders filled, the
 * verdict on a prediction once the value is measured, the quiz grading, and a try step's plan experiment and check.
 */
public final class LessonCoach {
    private LessonCoach() {
    }

    /** The text with every {@code {{value}}} replaced by the measured value (or a note naming the run to come). */
    public static String fill(LessonState st, String text) {
        if (text == null) {
            return "";
        }
        Matcher m = LessonParser.PLACEHOLDER.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(st.formatted(m.group(1))));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** The predict step an observe step refers to, or null. */
    public static Lesson.Predict prediction(Lesson lesson, String id) {
        if (id == null) {
            return null;
        }
        return lesson.steps().stream().filter(x -> x instanceof Lesson.Predict p && p.id().equals(id)).map(x -> (Lesson.Predict) x).findFirst().orElse(null);
    }

    /**
     * The verdict on the prediction an observe step points at: how far a number was from the measured value (within
     * the step's tolerance or not), or whether the option chosen was right and why. Null when nothing was predicted
     * or the value is not measured yet.
     */
    public static String verdict(LessonState st, Lesson.Observe o) {
        Lesson.Predict p = prediction(st.lesson(), o.prediction());
        Object given = p == null ? null : st.answer(p.id());
        if (!(given instanceof Number g)) {
            return null;
        }
        if (!p.options().isEmpty()) {
            Lesson.Option opt = p.options().get(g.intValue());
            return "You chose: " + opt.text() + " — " + (opt.correct() ? "right. " : "not quite. ") + opt.why();
        }
        Double v = st.value(o.value());
        if (v == null) {
            return null;
        }
        double off = (g.doubleValue() - v) / Math.abs(v);
        return String.format(Locale.ROOT, "You predicted %s: %+.0f%% from it — %s.", g, 100 * off,
                Math.abs(off) <= p.tolerance() ? "within " + Math.round(100 * p.tolerance()) + "%, well judged" : "outside " + Math.round(100 * p.tolerance()) + "%");
    }

    /** A graded quiz answer: whether it is right, the right answer as text, and the explanation to show. */
    public record Graded(boolean right, Object given, String correctText, String explanation) {
    }

    /** Grades a numeric answer. */
    public static Graded gradeNumber(LessonState st, Lesson.Question q, double v) {
        double want = q.answerValue() != null ? st.value(q.answerValue()) : q.answer();
        boolean right = Math.abs(v - want) <= q.tolerance() * Math.abs(want);
        return new Graded(right, v, String.format(Locale.ROOT, "%,.4g", want), fill(st, q.explain()).strip());
    }

    /** Grades chosen option indexes (single: exactly one). */
    public static Graded gradeChoice(LessonState st, Lesson.Question q, Set<Integer> picked) {
        Set<Integer> want = new TreeSet<>();
        for (int i = 0; i < q.options().size(); i++) {
            if (q.options().get(i).correct()) {
                want.add(i);
            }
        }
        boolean right = new TreeSet<>(picked).equals(want);
        String correctText = String.join(", ", want.stream().map(i -> String.valueOf((char) ('a' + i))).toList());
        return new Graded(right, new ArrayList<>(new TreeSet<>(picked)), correctText, fill(st, q.explain()).strip());
    }

    /**
     * The plan experiment a try step runs on the learner's settings: every setting a quoted scalar, so the learner's
     * text cannot add keys or structure.
     */
    public static String tryExperiment(Lesson.Try t, Map<String, String> given) {
        List<String> sets = new ArrayList<>();
        t.fixed().forEach((k, v) -> sets.add(k + "=" + v));
        for (String k : t.ask()) {
            String v = given.get(k);
            if (v == null || v.isBlank()) {
                throw new org.llmwb.core.InputException("try " + t.id() + ": '" + k + "' has no value");
            }
            sets.add(k + "=" + v.strip());
        }
        StringBuilder yaml = new StringBuilder("apiVersion: llmwb/v1\nkind: calculator\nmetadata:\n  name: " + t.id() + "\nspec:\n  calculator: plan\n");
        for (String kv : sets) {
            String[] p = kv.split("=", 2);
            yaml.append("  ").append(p[0]).append(": ").append(Json.line(p[1])).append('\n');
        }
        return yaml.toString();
    }

    /** Why the plan record does not meet the try step's check (empty: it does). */
    public static List<String> tryFailures(Lesson.Try t, Map<String, Object> r) {
        List<String> fails = new ArrayList<>();
        if (!Boolean.TRUE.equals(r.get("valid"))) {
            fails.add("the plan is not valid: " + r.get("problems"));
        }
        t.atLeast().forEach((k, min) -> {
            if (!(r.get(k) instanceof Number n) || n.doubleValue() < min) {
                fails.add(k + " is " + r.get(k) + ", needs at least " + min);
            }
        });
        t.atMost().forEach((k, max) -> {
            if (!(r.get(k) instanceof Number n) || n.doubleValue() > max) {
                fails.add(k + " is " + r.get(k) + ", needs at most " + max);
            }
        });
        return fails;
    }

    /** The checked figures of a plan record, for the success message. */
    public static String trySummary(Lesson.Try t, Map<String, Object> r) {
        List<String> parts = new ArrayList<>();
        for (String k : t.atLeast().keySet()) {
            parts.add(k + " " + r.get(k));
        }
        for (String k : t.atMost().keySet()) {
            parts.add(k + " " + r.get(k));
        }
        return String.join(", ", parts);
    }
}
