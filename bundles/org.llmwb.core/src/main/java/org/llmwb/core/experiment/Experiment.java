package org.llmwb.core.experiment;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.llmwb.core.SourceLocation;

/**
 * A parsed, validated experiment ({@code apiVersion: llmwb/v1}). Both runnable kinds are sweeps:
 * {@code calculator} (target = the calculator) and {@code kernel-sweep} (target = the GPU op); every
 * point of the sweep's cross product is one record.
 *
 * @param baseDir folder the experiment file lives in (relative model paths resolve against it; null for text)
 */
public record Experiment(String apiVersion, String kind, String name, String description, SourceLocation location, Path baseDir,
        SweepSpec sweep) {

    public static final String API_VERSION = "llmwb/v1";

    /**
     * @param target the calculator (kv, memory, ...) or the kernel op (gemv, decode_attention, copy)
     * @param base setting → value for every point
     * @param sweep setting → values, crossed in file order (the last key varies fastest)
     */
    public record SweepSpec(String target, Map<String, Object> base, Map<String, List<Object>> sweep, long points) {

        /** Receives each point in order. */
        public interface PointSink {
            void point(long index, Map<String, Object> settings);
        }

        /** Walks the cross product, checking for cancellation between points; returns the points visited. */
        public long walk(BooleanSupplier cancelled, PointSink sink) {
            List<String> keys = new ArrayList<>(sweep.keySet());
            int[] idx = new int[keys.size()];
            long n = 0;
            while (true) {
                if (cancelled.getAsBoolean()) {
                    return n;
                }
                Map<String, Object> point = new LinkedHashMap<>(base);
                for (int i = 0; i < keys.size(); i++) {
                    point.put(keys.get(i), sweep.get(keys.get(i)).get(idx[i]));
                }
                sink.point(n, point);
                n++;
                int k = keys.size() - 1;
                while (k >= 0) {
                    if (++idx[k] < sweep.get(keys.get(k)).size()) {
                        break;
                    }
                    idx[k] = 0;
                    k--;
                }
                if (k < 0) {
                    return n;
                }
            }
        }
    }
}
