package org.llmwb.core.experiment;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.llmwb.core.SourceLocation;

/**
 * A parsed, validated experiment ({@code apiVersion: llmwb/v1}). For {@code kind: calculator} the
 * {@link CalculatorSpec} holds the base settings and the sweep; every sweep point is one record.
 *
 * @param baseDir folder the experiment file lives in (relative model paths resolve against it; null for text)
 */
public record Experiment(String apiVersion, String kind, String name, String description, SourceLocation location, Path baseDir,
        CalculatorSpec calculator) {

    public static final String API_VERSION = "llmwb/v1";

    /**
     * @param calculator kv | memory | roofline | plan | paging
     * @param base setting → value for every point (model, gpu, precision, kvPrecision, context, batch, prompt, tp ...)
     * @param sweep setting → values, crossed in file order (the last key varies fastest)
     */
    public record CalculatorSpec(String calculator, Map<String, Object> base, Map<String, List<Object>> sweep, long points) {
    }
}
