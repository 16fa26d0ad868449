package org.llmwb.core.experiment;

import java.util.Map;
import java.util.Random;

/**
 * What every kernel timing record derives from its run times, FLOPs and bytes, computed in one place for
 * the GPU and CPU backends: medianMs, minMs, runs, flops, bytes, tflops, gbs and intensity.
 */
public final class KernelRecords {
    private KernelRecords() {
    }

    /** Median of sorted values (mean of the middle two for even counts). */
    public static float median(float[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Puts the timing fields into r; returns the median in seconds. */
    public static double put(Map<String, Object> r, float[] sortedMs, double flops, double bytes) {
        double ms = median(sortedMs);
        double s = ms / 1e3;
        r.put("medianMs", ms);
        r.put("minMs", (double) sortedMs[0]);
        r.put("runs", sortedMs.length);
        r.put("flops", flops);
        r.put("bytes", bytes);
        r.put("tflops", flops / s / 1e12);
        r.put("gbs", bytes / s / 1e9);
        r.put("intensity", bytes == 0 ? 0 : flops / bytes);
        return s;
    }

    /** Gaussian inputs: random, never all zeros (a kernel that writes nothing must not pass). */
    public static float[] gaussian(Random rnd, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * sigma);
        }
        return a;
    }

    /** An integer setting of a sweep point, or the default when absent. */
    public static int num(Map<String, Object> point, String key, int dflt) {
        Object v = point.get(key);
        return v == null ? dflt : ((Number) v).intValue();
    }

    /** A text setting of a sweep point, or the default when absent. */
    public static String str(Map<String, Object> point, String key, String dflt) {
        Object v = point.get(key);
        return v == null ? dflt : v.toString();
    }

    /** The point's seed (42 when absent): inputs are seeded so a rerun measures the same data. */
    public static java.util.Random random(Map<String, Object> point) {
        return new Random(point.get("seed") == null ? 42 : ((Number) point.get("seed")).longValue());
    }
}
