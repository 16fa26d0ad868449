package org.llmwb.core.lesson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.AtomicFiles;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A learner's progress through one lesson: the records of each run, the answers (predictions, quiz answers, try
 * settings) and the quiz score, the step reached. Saved as JSON under {@code ~/.llmwb/lessons/<id>/progress.json},
 * written to a temporary file and moved into place, so a crash leaves the previous state whole.
 */
public final class LessonState {
    private final Lesson lesson;
    private final Map<String, List<Map<String, Object>>> runs = new LinkedHashMap<>();
    private final Map<String, String> runFolders = new LinkedHashMap<>();
    private final Map<String, Object> answers = new LinkedHashMap<>();
    private final Map<String, Boolean> correct = new LinkedHashMap<>();
    private int step;

    public LessonState(Lesson lesson) {
        this.lesson = lesson;
    }

    public Lesson lesson() {
        return lesson;
    }

    public int step() {
        return step;
    }

    public void step(int s) {
        step = s;
    }

    public void runDone(String runId, List<Map<String, Object>> records, Path folder) {
        runs.put(runId, records);
        if (folder != null) {
            runFolders.put(runId, folder.toString());
        }
    }

    public boolean hasRun(String runId) {
        return runs.containsKey(runId);
    }

    public Map<String, String> runFolders() {
        return runFolders;
    }

    public void answer(String id, Object answer, Boolean right) {
        answers.put(id, answer);
        if (right != null) {
            correct.put(id, right);
        }
    }

    /** Whether a graded answer (quiz question, try step) was right; null when not graded or not answered. */
    public Boolean correct(String id) {
        return correct.get(id);
    }

    public Object answer(String id) {
        return answers.get(id);
    }

    /** Quiz questions answered right, and asked. */
    public int[] score() {
        int right = 0;
        int asked = 0;
        for (Lesson.Step s : lesson.steps()) {
            if (s instanceof Lesson.Quiz q) {
                for (Lesson.Question x : q.questions()) {
                    if (correct.containsKey(x.id())) {
                        asked++;
                        right += correct.get(x.id()) ? 1 : 0;
                    }
                }
            }
        }
        return new int[] {right, asked};
    }

    /** A value of the lesson from its run's records, or null while that run has not finished. */
    public Double value(String name) {
        Lesson.Value v = lesson.values().get(name);
        if (v == null) {
            throw new IllegalArgumentException("no value " + name);
        }
        if (v.over() != null) {
            Double a = value(v.field());
            Double b = value(v.over());
            return a == null || b == null ? null : a / b;
        }
        List<Map<String, Object>> recs = runs.get(v.run());
        if (recs == null) {
            return null;
        }
        List<Double> xs = new ArrayList<>();
        for (Map<String, Object> r : recs) {
            boolean match = v.where().entrySet().stream().allMatch(w -> r.containsKey(w.getKey()) && String.valueOf(r.get(w.getKey())).equals(w.getValue())
                    || r.get(w.getKey()) instanceof Number n && isNumber(w.getValue()) && n.doubleValue() == Double.parseDouble(w.getValue()));
            if (match && field(r, v.field()) instanceof Number n) {
                xs.add(n.doubleValue());
            }
        }
        if (xs.isEmpty()) {
            throw new InputException(v.location(), "value '" + name + "': no record of run '" + v.run() + "' has a number '" + v.field() + "'"
                    + (v.where().isEmpty() ? "" : " where " + v.where()));
        }
        return switch (v.pick()) {
            case "last" -> xs.get(xs.size() - 1);
            case "min" -> xs.stream().mapToDouble(Double::doubleValue).min().getAsDouble();
            case "max" -> xs.stream().mapToDouble(Double::doubleValue).max().getAsDouble();
            case "mean" -> xs.stream().mapToDouble(Double::doubleValue).average().getAsDouble();
            default -> xs.get(0);
        };
    }

    /** A record's field; a dotted name reaches into nested maps when the record has no such top-level key. */
    private static Object field(Map<String, Object> r, String name) {
        if (r.containsKey(name) || !name.contains(".")) {
            return r.get(name);
        }
        Object o = r;
        for (String part : name.split("\\.")) {
            if (!(o instanceof Map<?, ?> m)) {
                return null;
            }
            o = m.get(part);
        }
        return o;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The value as text with its unit, or a note that the run has not happened yet. */
    public String formatted(String name) {
        Lesson.Value v = lesson.values().get(name);
        Double x = value(name);
        if (x == null) {
            return "(measured by run '" + (v.over() != null ? lesson.values().get(v.field()).run() : v.run()) + "')";
        }
        return String.format(Locale.ROOT, v.format(), x) + (v.unit().isEmpty() ? "" : " " + v.unit());
    }

    /** A page's Markdown with every {{value}} filled in (or marked as coming from a later run). */
    public String page(Path page) throws IOException {
        String text = Files.readString(page);
        Matcher m = LessonParser.PLACEHOLDER.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(formatted(m.group(1))));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** Claims whose value is known and outside its range, as messages. */
    public List<String> brokenClaims() {
        List<String> out = new ArrayList<>();
        for (Lesson.Claim c : lesson.claims()) {
            Double x = value(c.value());
            if (x != null && (x < c.lo() || x > c.hi())) {
                out.add(c.location() + ": the lesson claims " + c.value() + " in [" + c.lo() + ", " + c.hi() + "]" + (c.text() == null ? "" : " (" + c.text() + ")")
                        + " but it came out " + x);
            }
        }
        return out;
    }

    // ---- persistence

    public static Path file(Path home, String lessonId) {
        return home.resolve(".llmwb").resolve("lessons").resolve(lessonId).resolve("progress.json");
    }

    /** Where the id of the lesson a learner last opened is kept, so the workbench resumes it after a restart. */
    static Path lastFile(Path home) {
        return home.resolve(".llmwb").resolve("lessons").resolve("last-lesson");
    }

    /** Remembers {@code lessonId} as the learner's current lesson (atomically; a failure to write is not fatal to the lesson). */
    public static void rememberLast(Path home, String lessonId) throws IOException {
        Files.createDirectories(lastFile(home).getParent()); // a learner's first lesson: nothing under ~/.llmwb yet
        AtomicFiles.write(lastFile(home), lessonId + "\n");
    }

    /** The lesson the learner last opened, or null when none was or the file is unreadable. */
    public static String last(Path home) {
        try {
            String id = Files.readString(lastFile(home)).strip();
            return id.matches("[A-Za-z0-9._-]{1,100}") ? id : null;
        } catch (IOException e) {
            return null;
        }
    }

    public void save(Path file) throws IOException {
        ObjectNode o = Json.object().put("lesson", lesson.id()).put("step", step);
        o.set("answers", Json.MAPPER.valueToTree(answers));
        o.set("correct", Json.MAPPER.valueToTree(correct));
        o.set("runs", Json.MAPPER.valueToTree(runs));
        o.set("runFolders", Json.MAPPER.valueToTree(runFolders));
        Files.createDirectories(file.getParent());
        Path tmp = Files.createTempFile(file.getParent(), "progress", ".tmp");
        try {
            Files.writeString(tmp, Json.pretty(o));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The saved progress, or a fresh state when there is none; a corrupt file is reported, not silently reset. */
    @SuppressWarnings("unchecked")
    public static LessonState load(Lesson lesson, Path file) {
        LessonState s = new LessonState(lesson);
        if (!Files.isRegularFile(file)) {
            return s;
        }
        try {
            JsonNode o = Json.parse(Files.readString(file));
            s.step = o.path("step").asInt(0);
            Json.MAPPER.convertValue(o.path("answers"), Map.class).forEach((k, v) -> s.answers.put((String) k, v));
            Json.MAPPER.convertValue(o.path("correct"), Map.class).forEach((k, v) -> s.correct.put((String) k, (Boolean) v));
            Map<String, List<Map<String, Object>>> r = Json.MAPPER.convertValue(o.path("runs"), Map.class);
            s.runs.putAll(r);
            Json.MAPPER.convertValue(o.path("runFolders"), Map.class).forEach((k, v) -> s.runFolders.put((String) k, (String) v));
            return s;
        } catch (IOException | IllegalArgumentException | ClassCastException e) {
            throw new InputException(SourceLocation.of(file.toString()), "progress file is damaged (" + e.getMessage() + "); `llmwb lesson reset "
                    + lesson.id() + "` starts the lesson over");
        }
    }
}
