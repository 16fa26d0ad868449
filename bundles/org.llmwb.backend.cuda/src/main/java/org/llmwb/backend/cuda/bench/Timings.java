package org.llmwb.backend.cuda.bench;

import java.util.Map;
import java.util.Random;

import org.llmwb.backend.cuda.Gpu;

/** What every kernel timing record derives from its sorted run times, FLOPs and bytes, computed in one place. */
final class Timings {
    private Timings() {
    }

    /** Puts medianMs, minMs, runs, flops, bytes, tflops, gbs and intensity; returns the median in seconds. */
    static double put(Map<String, Object> r, float[] sortedMs, double flops, double bytes) {
        double ms = Gpu.median(sortedMs);
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
    static float[] gaussian(Random rnd, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * sigma);
        }
        return a;
    }
}
