package org.llmwb.core.result;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.llmwb.core.InputException;

/**
 * Writes a run's result directory so that it is never seen half-written: everything goes to a
 * hidden staging folder beside the target, which is renamed to the target only by
 * {@link #commit}. {@link #close()} without commit deletes the staging folder.
 *
 * <p>Layout: {@code results.jsonl} (one record per line, streamed), {@code results.csv},
 * {@code summary.json}, {@code env.json}, {@code experiment.yaml}, plus any extra files (plots).
 */
public final class ResultWriter implements Closeable {
    private final Path target;
    private final Path staging;
    private final BufferedWriter jsonl;
    private final List<Map<String, Object>> rows = new ArrayList<>();
    private final Set<String> columns = new LinkedHashSet<>();
    private boolean committed;

    private ResultWriter(Path target, Path staging) throws IOException {
        this.target = target;
        this.staging = staging;
        this.jsonl = Files.newBufferedWriter(staging.resolve("results.jsonl"), StandardCharsets.UTF_8);
    }

    /** Opens a writer for {@code target}, which must not exist or be an empty directory. */
    public static ResultWriter open(Path target) {
        Path t = target.toAbsolutePath().normalize();
        try {
            if (Files.exists(t)) {
                if (!Files.isDirectory(t)) {
                    throw new InputException("--out " + target + " exists and is not a directory");
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(t)) {
                    if (ds.iterator().hasNext()) {
                        throw new InputException("--out " + target + " is not empty; choose a new folder (results are never overwritten)");
                    }
                }
            }
            Path parent = t.getParent();
            Files.createDirectories(parent);
            Path staging = Files.createTempDirectory(parent, "." + t.getFileName() + ".partial-");
            return new ResultWriter(t, staging);
        } catch (IOException e) {
            throw new InputException("cannot create the result folder " + target + ": " + e.getMessage());
        }
    }

    public Path target() {
        return target;
    }

    public synchronized void record(Map<String, Object> record) {
        try {
            jsonl.write(Json.line(record));
            jsonl.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> flat = new LinkedHashMap<>();
        record.forEach((k, v) -> {
            if (!(v instanceof List<?>) && !(v instanceof Map<?, ?>)) {
                flat.put(k, v);
                columns.add(k);
            }
        });
        rows.add(flat);
    }

    public void file(String name, String content) {
        try {
            Files.writeString(staging.resolve(name), content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void bytes(String name, byte[] content) {
        try {
            Files.write(staging.resolve(name), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes summary, env and CSV, then renames the staging folder to the target. */
    public synchronized Path commit(Map<String, Object> summary, Map<String, Object> env) {
        try {
            jsonl.close();
            file("summary.json", Json.pretty(summary));
            file("env.json", Json.pretty(env));
            file("results.csv", csv());
            if (Files.isDirectory(target)) {
                Files.delete(target); // empty, checked in open()
            }
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staging, target);
            }
            committed = true;
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("could not finish the result folder " + target, e);
        }
    }

    private String csv() {
        StringBuilder s = new StringBuilder(String.join(",", columns)).append('\n');
        for (Map<String, Object> r : rows) {
            List<String> cells = new ArrayList<>();
            for (String c : columns) {
                Object v = r.get(c);
                String t = v == null ? "" : v.toString();
                cells.add(t.contains(",") || t.contains("\"") ? '"' + t.replace("\"", "\"\"") + '"' : t);
            }
            s.append(String.join(",", cells)).append('\n');
        }
        return s.toString();
    }

    /** Removes the staging folder unless the result was committed. */
    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            jsonl.close();
        } catch (IOException e) {
            // already failing; the folder is deleted below
        }
        try (Stream<Path> walk = Files.walk(staging)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover hidden staging folder is harmless
        }
    }
}
