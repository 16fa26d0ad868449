package org.llmwb.core.engineview;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Serving records read from result folders and files for a {@link ServingComparison}: a {@code llmwb bench --out}
 * folder (its summary), a {@code llmwb run} folder of an engine-run, serving-sim or bench experiment (every point), or a
 * {@code llmwb simulate --json} file. The CLI's {@code llmwb compare} and the workbench's Comparison view both read
 * through here.
 */
public final class ServingSources {
    private ServingSources() {
    }

    /** The serving records of one argument: {@code [LABEL=]PATH}, a folder or a .json/.jsonl file. */
    public static List<ServingComparison.Source> load(String arg) {
        String label = null;
        String path = arg;
        int eq = arg.indexOf('=');
        if (eq > 0 && !arg.substring(0, eq).contains("/") && !Files.exists(Path.of(arg))) {
            label = arg.substring(0, eq);
            path = arg.substring(eq + 1);
        }
        Path p = Path.of(path);
        List<Map<String, Object>> recs = new ArrayList<>();
        if (Files.isDirectory(p)) {
            Path summary = p.resolve("summary.json");
            if (Files.isRegularFile(summary)) {
                Map<String, Object> s = object(summary);
                if (ServingComparison.isServingRecord(s)) {
                    recs.add(s);
                }
            }
            if (recs.isEmpty() && Files.isRegularFile(p.resolve("results.jsonl"))) {
                recs.addAll(lines(p.resolve("results.jsonl")));
            }
        } else if (Files.isRegularFile(p)) {
            if (p.toString().endsWith(".jsonl")) {
                recs.addAll(lines(p));
            } else {
                Map<String, Object> s = object(p);
                if (ServingComparison.isServingRecord(s)) {
                    recs.add(s);
                }
            }
        } else {
            throw new InputException(SourceLocation.of(path), "no such folder or file");
        }
        if (recs.isEmpty()) {
            throw new InputException(SourceLocation.of(path), "no serving records in it: a comparison reads records with ttft_ms_p50, itl_ms_p50, … — the folders of "
                    + "llmwb bench --out and of llmwb run on engine-run, serving-sim or bench experiments, or llmwb simulate --json output");
        }
        String base = label != null ? label : p.getFileName() == null ? path : p.getFileName().toString();
        List<ServingComparison.Source> out = new ArrayList<>();
        for (int i = 0; i < recs.size(); i++) {
            String l = recs.size() == 1 ? base : base + " " + LatencyCdf.label(i, recs.get(i));
            out.add(new ServingComparison.Source(l, recs.get(i)));
        }
        return out;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new InputException(SourceLocation.of(p.toString()), "not UTF-8 text");
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(p.toString()), "cannot read: " + e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Path p) {
        JsonNode n;
        try {
            n = Json.parse(read(p));
        } catch (IOException | RuntimeException e) {
            if (e instanceof InputException ie) {
                throw ie;
            }
            throw new InputException(SourceLocation.of(p.toString()), "not JSON: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) {
            throw new InputException(SourceLocation.of(p.toString()), "expected a JSON object");
        }
        return Json.MAPPER.convertValue(n, Map.class);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> lines(Path p) {
        List<Map<String, Object>> out = new ArrayList<>();
        String[] ls = read(p).split("\n", -1);
        for (int i = 0; i < ls.length; i++) {
            String line = ls[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode n;
            try {
                n = Json.parse(line);
            } catch (IOException | RuntimeException e) {
                throw new InputException(new SourceLocation(p.toString(), i + 1, 1), "not a JSON object: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            }
            if (n == null || !n.isObject()) {
                throw new InputException(new SourceLocation(p.toString(), i + 1, 1), "each line must be a JSON object");
            }
            Map<String, Object> m = Json.MAPPER.convertValue(n, Map.class);
            if (ServingComparison.isServingRecord(m)) {
                out.add(m);
            }
        }
        return out;
    }
}
