package org.llmwb.core.engineview;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.core.result.JsonFiles;

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

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Path p) {
        return Json.MAPPER.convertValue(JsonFiles.object(JsonFiles.readText(p), SourceLocation.of(p.toString())), Map.class);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> lines(Path p) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonFiles.Line l : JsonFiles.lines(p)) {
            Map<String, Object> m = Json.MAPPER.convertValue(l.object(), Map.class);
            if (ServingComparison.isServingRecord(m)) {
                out.add(m);
            }
        }
        return out;
    }
}
