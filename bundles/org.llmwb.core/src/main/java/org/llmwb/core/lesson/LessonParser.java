package org.llmwb.core.lesson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.yaml.YNode;

/**
 * Reads and validates a {@code lesson.yaml} (schema: {@code docs/lessons.md}). Every problem is an
 * {@link InputException} at {@code file:line:column}: unknown keys, missing fields, pages or experiments outside the
 * lesson's folder or missing, a value that names a run no step defines, a {@code {{name}}} in a page that no value
 * defines, an observation or prediction of an undefined value, duplicate ids.
 */
public final class LessonParser {
    private static final Set<String> TOP = Set.of("apiVersion", "kind", "id", "title", "level", "minutes", "needs", "summary", "values", "steps", "claims");
    private static final Set<String> LEVELS = Set.of("beginner", "intermediate", "advanced");
    private static final Set<String> NEEDS = Set.of("cpu", "gpu", "any");
    private static final Set<String> PICKS = Set.of("first", "last", "min", "max", "mean");
    private static final Set<String> VIEWS = Set.of("memory", "roofline", "kernel-results", "kv-cache", "batching-timeline", "latency", "layout", "runner");
    /** {@code {{name}}} in a page: a lesson value. */
    public static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([A-Za-z][A-Za-z0-9_-]*)\\s*}}");
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]*");

    private LessonParser() {
    }

    public static Lesson parse(Path lessonYaml) {
        Path dir = lessonYaml.toAbsolutePath().normalize().getParent();
        YNode root = YNode.read(lessonYaml);
        if (!root.isMap()) {
            throw new InputException(root.location(), "a lesson is a mapping (apiVersion, kind: lesson, id, title, steps, ...)");
        }
        keys(root, TOP);
        if (!"llmwb/v1".equals(text(root, "apiVersion"))) {
            throw new InputException(root.get("apiVersion").location(), "apiVersion must be llmwb/v1");
        }
        if (!"lesson".equals(text(root, "kind"))) {
            throw new InputException(root.get("kind").location(), "kind must be lesson");
        }
        String id = text(root, "id");
        if (!ID.matcher(id).matches()) {
            throw new InputException(root.get("id").location(), "id '" + id + "' must be lowercase letters, digits and dashes");
        }
        String level = oneOf(root, "level", LEVELS, "beginner");
        String needs = oneOf(root, "needs", NEEDS, "any");
        int minutes = root.has("minutes") ? root.get("minutes").asInt() : 15;
        if (minutes < 1 || minutes > 600) {
            throw new InputException(root.get("minutes").location(), "minutes must be in 1..600");
        }
        // steps first: values refer to their runs
        YNode stepsNode = req(root, "steps");
        if (!stepsNode.isList() || stepsNode.items().isEmpty()) {
            throw new InputException(stepsNode.location(), "steps must be a non-empty list");
        }
        List<Lesson.Step> steps = new ArrayList<>();
        Set<String> runIds = new LinkedHashSet<>();
        Set<String> stepIds = new LinkedHashSet<>();
        for (YNode s : stepsNode.items()) {
            steps.add(step(s, dir, runIds, stepIds));
        }
        Map<String, Lesson.Value> values = new LinkedHashMap<>();
        YNode vs = root.get("values");
        if (vs != null && !vs.isNull()) {
            if (!vs.isMap()) {
                throw new InputException(vs.location(), "values must be a mapping of name: {run, field, ...}");
            }
            for (Map.Entry<String, YNode> e : vs.entries().entrySet()) {
                values.put(e.getKey(), value(e.getKey(), e.getValue(), runIds));
            }
        }
        for (Lesson.Value v : values.values()) {
            if (v.over() != null) {
                for (String part : List.of(v.field(), v.over())) {
                    Lesson.Value p = values.get(part);
                    if (p == null || p.over() != null) {
                        throw new InputException(v.location(), "ratio part '" + part + "' must be a value read from a run (values: " + values.keySet() + ")");
                    }
                }
            }
        }
        // every reference resolves
        for (Lesson.Step s : steps) {
            switch (s) {
                case Lesson.Read r -> placeholders(r.page(), values, r.location());
                case Lesson.Predict p -> need(values, p.value(), p.location());
                case Lesson.Observe o -> {
                    need(values, o.value(), o.location());
                    if (o.prediction() != null && !stepIds.contains(o.prediction())) {
                        throw new InputException(o.location(), "prediction '" + o.prediction() + "' is not the id of a predict step");
                    }
                }
                case Lesson.Quiz q -> q.questions().stream().filter(x -> x.answerValue() != null).forEach(x -> need(values, x.answerValue(), x.location()));
                default -> {
                }
            }
        }
        List<Lesson.Claim> claims = new ArrayList<>();
        YNode cs = root.get("claims");
        if (cs != null && !cs.isNull()) {
            for (YNode c : cs.items()) {
                keys(c, Set.of("value", "range", "text"));
                String v = text(c, "value");
                need(values, v, c.location());
                YNode range = req(c, "range");
                if (!range.isList() || range.items().size() != 2) {
                    throw new InputException(range.location(), "range is [low, high]");
                }
                double lo = range.items().get(0).asDouble();
                double hi = range.items().get(1).asDouble();
                if (!(lo <= hi)) {
                    throw new InputException(range.location(), "range [" + lo + ", " + hi + "] is empty");
                }
                claims.add(new Lesson.Claim(v, lo, hi, c.has("text") ? c.get("text").text() : null, c.location()));
            }
        }
        return new Lesson(id, text(root, "title"), level, minutes, needs, root.has("summary") ? root.get("summary").text() : "", dir, root.location(),
                values, steps, claims);
    }

    private static Lesson.Step step(YNode s, Path dir, Set<String> runIds, Set<String> stepIds) {
        if (!s.isMap() || s.entries().size() != 1) {
            throw new InputException(s.location(), "a step is a mapping with one key: read, predict, run, observe, quiz or try");
        }
        Map.Entry<String, YNode> e = s.entries().entrySet().iterator().next();
        YNode b = e.getValue();
        SourceLocation at = s.location();
        switch (e.getKey()) {
            case "read" -> {
                return new Lesson.Read(file(dir, b, ".md"), at);
            }
            case "predict" -> {
                keys(b, Set.of("id", "prompt", "value", "tolerance", "options"));
                String id = unique(b, stepIds);
                return new Lesson.Predict(id, text(b, "prompt"), text(b, "value"), b.has("tolerance") ? b.get("tolerance").asDouble() : 0.25,
                        b.has("options") ? options(b.get("options")) : List.of(), at);
            }
            case "run" -> {
                keys(b, Set.of("id", "experiment", "cpu", "gpu"));
                String id = unique(b, stepIds);
                runIds.add(id);
                return new Lesson.Run(id, file(dir, req(b, "experiment"), ".llmwb.yaml"), sets(b.get("cpu")), sets(b.get("gpu")), at);
            }
            case "observe" -> {
                keys(b, Set.of("view", "value", "prediction", "explain"));
                String view = text(b, "view");
                if (!VIEWS.contains(view)) {
                    throw new InputException(b.get("view").location(), "unknown view '" + view + "'; one of " + VIEWS);
                }
                return new Lesson.Observe(view, text(b, "value"), b.has("prediction") ? b.get("prediction").text() : null, text(b, "explain"), at);
            }
            case "quiz" -> {
                if (!b.isList() || b.items().isEmpty()) {
                    throw new InputException(b.location(), "quiz is a non-empty list of questions");
                }
                List<Lesson.Question> qs = new ArrayList<>();
                for (YNode q : b.items()) {
                    keys(q, Set.of("id", "type", "question", "options", "value", "answer", "tolerance", "explain"));
                    String id = unique(q, stepIds);
                    String type = oneOf(q, "type", Set.of("single", "multiple", "numeric"), "single");
                    List<Lesson.Option> opts = type.equals("numeric") ? List.of() : options(req(q, "options"));
                    long correct = opts.stream().filter(Lesson.Option::correct).count();
                    if (type.equals("single") && correct != 1 || type.equals("multiple") && correct < 1) {
                        throw new InputException(q.location(), "a " + type + "-choice question needs " + (type.equals("single") ? "exactly one" : "at least one")
                                + " correct option (has " + correct + ")");
                    }
                    if (type.equals("numeric") && !q.has("value") && !q.has("answer")) {
                        throw new InputException(q.location(), "a numeric question needs 'value' (a lesson value) or 'answer' (a number)");
                    }
                    qs.add(new Lesson.Question(id, type, text(q, "question"), opts, q.has("value") ? q.get("value").text() : null,
                            q.has("answer") ? q.get("answer").asDouble() : null, q.has("tolerance") ? q.get("tolerance").asDouble() : 0.05, text(q, "explain"),
                            q.location()));
                }
                return new Lesson.Quiz(qs, at);
            }
            case "try" -> {
                keys(b, Set.of("id", "prompt", "fixed", "ask", "atLeast", "atMost"));
                String id = unique(b, stepIds);
                Map<String, String> fixed = new LinkedHashMap<>();
                if (b.has("fixed")) {
                    b.get("fixed").entries().forEach((k, v) -> fixed.put(k, v.text()));
                }
                List<String> ask = req(b, "ask").items().stream().map(YNode::text).toList();
                return new Lesson.Try(id, text(b, "prompt"), fixed, ask, bounds(b.get("atLeast")), bounds(b.get("atMost")), at);
            }
            default -> throw new InputException(at, "unknown step '" + e.getKey() + "'; a step is read, predict, run, observe, quiz or try");
        }
    }

    private static Map<String, Double> bounds(YNode n) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (n != null && !n.isNull()) {
            n.entries().forEach((k, v) -> m.put(k, v.asDouble()));
        }
        return m;
    }

    private static Lesson.Value value(String name, YNode v, Set<String> runIds) {
        if (v.has("ratio")) {
            // ratio: [numerator value, denominator value]
            keys(v, Set.of("ratio", "unit", "format"));
            YNode r = v.get("ratio");
            if (!r.isList() || r.items().size() != 2) {
                throw new InputException(r.location(), "ratio is [numerator value, denominator value]");
            }
            return new Lesson.Value(name, null, r.items().get(0).text(), Map.of(), "first", v.has("unit") ? v.get("unit").text() : "",
                    v.has("format") ? v.get("format").text() : "%.3g", v.location(), r.items().get(1).text());
        }
        keys(v, Set.of("run", "field", "where", "pick", "unit", "format"));
        String run = text(v, "run");
        if (!runIds.contains(run)) {
            throw new InputException(v.get("run").location(), "value '" + name + "' reads run '" + run + "', which no run step defines (runs: " + runIds + ")");
        }
        Map<String, String> where = new LinkedHashMap<>();
        if (v.has("where")) {
            v.get("where").entries().forEach((k, x) -> where.put(k, x.text()));
        }
        return new Lesson.Value(name, run, text(v, "field"), where, oneOf(v, "pick", PICKS, "first"), v.has("unit") ? v.get("unit").text() : "",
                v.has("format") ? v.get("format").text() : "%,.4g", v.location(), null);
    }

    private static List<Lesson.Option> options(YNode n) {
        if (!n.isList() || n.items().size() < 2) {
            throw new InputException(n.location(), "options is a list of at least two {text, correct, why}");
        }
        List<Lesson.Option> out = new ArrayList<>();
        for (YNode o : n.items()) {
            keys(o, Set.of("text", "correct", "why"));
            out.add(new Lesson.Option(text(o, "text"), o.has("correct") && o.get("correct").asBoolean(), text(o, "why")));
        }
        return out;
    }

    private static List<String> sets(YNode n) {
        List<String> out = new ArrayList<>();
        if (n != null && !n.isNull()) {
            n.entries().forEach((k, v) -> out.add(k + "=" + v.text()));
        }
        return out;
    }

    /** A file of the lesson's folder (never outside it), which must exist and end with {@code ext}. */
    private static Path file(Path dir, YNode n, String ext) {
        String name = n.text();
        Path p = dir.resolve(name).normalize();
        if (!p.startsWith(dir) || name.contains("..")) {
            throw new InputException(n.location(), "'" + name + "' is outside the lesson's folder; lessons only use their own files");
        }
        if (!name.endsWith(ext)) {
            throw new InputException(n.location(), "'" + name + "' should be a " + ext + " file");
        }
        if (!Files.isRegularFile(p)) {
            throw new InputException(n.location(), "'" + name + "' does not exist in " + dir);
        }
        return p;
    }

    private static void placeholders(Path page, Map<String, Lesson.Value> values, SourceLocation at) {
        String text;
        try {
            text = Files.readString(page);
        } catch (IOException e) {
            throw new InputException(at, "cannot read " + page + ": " + e.getMessage());
        }
        Matcher m = PLACEHOLDER.matcher(text);
        while (m.find()) {
            if (!values.containsKey(m.group(1))) {
                int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
                throw new InputException(new SourceLocation(page.toString(), line, 1), "{{" + m.group(1) + "}} is not a value of the lesson (values: " + values.keySet() + ")");
            }
        }
    }

    private static void need(Map<String, Lesson.Value> values, String name, SourceLocation at) {
        if (!values.containsKey(name)) {
            throw new InputException(at, "'" + name + "' is not a value of the lesson (values: " + values.keySet() + ")");
        }
    }

    private static String unique(YNode b, Set<String> ids) {
        String id = text(b, "id");
        if (!ID.matcher(id).matches()) {
            throw new InputException(b.get("id").location(), "id '" + id + "' must be lowercase letters, digits and dashes");
        }
        if (!ids.add(id)) {
            throw new InputException(b.get("id").location(), "id '" + id + "' is used twice");
        }
        return id;
    }

    private static void keys(YNode n, Set<String> allowed) {
        if (!n.isMap()) {
            throw new InputException(n.location(), "expected a mapping with keys " + allowed);
        }
        for (Map.Entry<String, YNode> e : n.entries().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                throw new InputException(e.getValue().location(), "unknown key '" + e.getKey() + "'; allowed here: " + allowed);
            }
        }
    }

    private static YNode req(YNode n, String key) {
        YNode v = n.get(key);
        if (v == null || v.isNull()) {
            throw new InputException(n.location(), "missing '" + key + "'");
        }
        return v;
    }

    private static String text(YNode n, String key) {
        return req(n, key).text();
    }

    private static String oneOf(YNode n, String key, Set<String> allowed, String dflt) {
        if (!n.has(key)) {
            return dflt;
        }
        String v = n.get(key).text();
        if (!allowed.contains(v)) {
            throw new InputException(n.get(key).location(), key + " '" + v + "' is not one of " + allowed);
        }
        return v;
    }
}
