package org.llmwb.engine.metrics;

import java.util.Arrays;

/**
 * Summary of a sample, as AIPerf reports it: avg, min, max, p99, p90, p75 (p50 added) and the population
 * standard deviation. Percentiles interpolate linearly between order statistics (numpy's default).
 */
public record Stats(int n, double avg, double min, double max, double p50, double p75, double p90, double p99, double std) {
    public static final Stats EMPTY = new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    public static Stats of(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return EMPTY;
        }
        double sum = 0;
        for (double d : v) {
            sum += d;
        }
        double avg = sum / v.length;
        double ss = 0;
        for (double d : v) {
            ss += (d - avg) * (d - avg);
        }
        return new Stats(v.length, avg, v[0], v[v.length - 1], percentile(v, 50), percentile(v, 75), percentile(v, 90), percentile(v, 99),
                Math.sqrt(ss / v.length));
    }

    /** The q-th percentile of sorted values, linear interpolation. */
    public static double percentile(double[] sorted, double q) {
        if (sorted.length == 1) {
            return sorted[0];
        }
        double r = q / 100 * (sorted.length - 1);
        int lo = (int) Math.floor(r);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo);
    }
}
