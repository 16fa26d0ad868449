package org.llmwb.core.engineview;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.llmwb.core.plot.PlotModel;

/**
 * Serving plots built from run records (engine runs, simulated runs, benchmark runs: the same field names), headless
 * like {@link LatencyCdf}: the throughput/interactivity Pareto plot of a sweep, and output throughput over a run's time.
 */
public final class ServingPlots {
    private ServingPlots() {
    }

    /**
     * Output tokens/s per GPU (y) against tokens/s per user (x, the median request's) for each record of a sweep, with
     * the Pareto frontier (no other point is better on both axes) drawn as a line. Records without both figures are
     * left out.
     */
    public static PlotModel pareto(List<Map<String, Object>> records, double gpus, String pointLabelKey) {
        List<double[]> pts = new ArrayList<>();
        List<PlotModel.Marker> markers = new ArrayList<>();
        for (Map<String, Object> r : records) {
            double x = num(r.get("user_tokens_per_s_p50"));
            double y = num(r.get("outputTokensPerS")) / gpus;
            if (!(x > 0) || !(y > 0)) {
                continue;
            }
            String label = pointLabelKey + " " + r.get(pointLabelKey);
            pts.add(new double[] {x, y});
            markers.add(new PlotModel.Marker("points", label, x, y, "circle", 0,
                    Map.of("tokens/s per user (p50)", fmt(x), "output tokens/s per GPU", fmt(y), "TTFT p50 ms", fmt(num(r.get("ttft_ms_p50"))))));
        }
        List<double[]> front = frontier(pts);
        double xMax = pts.stream().mapToDouble(p -> p[0]).max().orElse(1) * 1.25; // room for the labels
        double yMax = pts.stream().mapToDouble(p -> p[1]).max().orElse(1) * 1.1;
        List<PlotModel.Line> lines = front.size() < 2 ? List.of() : List.of(new PlotModel.Line("Pareto frontier", "measured", "dashed", 1, front));
        return new PlotModel("Throughput per GPU vs tokens/s per user", new PlotModel.Axis("tokens/s per user (median request)", 0, xMax, false),
                new PlotModel.Axis("output tokens/s per GPU", 0, yMax, false), lines, markers,
                List.of(pts.size() + " point(s), " + front.size() + " on the frontier; " + fmt(gpus) + " GPU(s)"));
    }

    /** The points no other point dominates (at least as good on both axes, better on one), by increasing x. */
    public static List<double[]> frontier(List<double[]> pts) {
        List<double[]> out = new ArrayList<>();
        for (double[] p : pts) {
            boolean dominated = false;
            for (double[] q : pts) {
                if (q != p && q[0] >= p[0] && q[1] >= p[1] && (q[0] > p[0] || q[1] > p[1])) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) {
                out.add(p);
            }
        }
        out.sort(Comparator.comparingDouble(p -> p[0]));
        return out;
    }

    /**
     * Output tokens/s over a run's time: every token's arrival (seconds from the run's start) counted in bins of
     * {@code binS}; the last, partial bin is scaled by its length.
     */
    public static PlotModel throughputOverTime(double[] tokenTimes, double binS) {
        double end = 0;
        for (double t : tokenTimes) {
            end = Math.max(end, t);
        }
        int bins = Math.max(1, (int) Math.ceil(end / binS));
        double[] count = new double[bins];
        for (double t : tokenTimes) {
            count[Math.min(bins - 1, Math.max(0, (int) (t / binS)))]++;
        }
        List<double[]> pts = new ArrayList<>();
        double yMax = 1;
        for (int b = 0; b < bins; b++) {
            double len = b == bins - 1 ? Math.max(binS * 1e-3, end - b * binS) : binS;
            double rate = count[b] / len;
            pts.add(new double[] {b * binS, rate});
            pts.add(new double[] {b * binS + len, rate});
            yMax = Math.max(yMax, rate);
        }
        return new PlotModel("Output tokens/s over time", new PlotModel.Axis("seconds from the start", 0, Math.max(binS, end), false),
                new PlotModel.Axis("output tokens/s", 0, yMax * 1.1, false), List.of(new PlotModel.Line("tokens/s (" + fmt(binS) + " s bins)", "measured", "solid", 0, pts)),
                List.of(), List.of(tokenTimes.length + " tokens"));
    }

    /**
     * Latency over a run's time: each request's TTFT and request latency (ms) at the time it was sent (seconds from
     * the run's start), one point per request in send order — a queue building up under load shows as a rising line.
     */
    public static PlotModel latencyOverTime(double[] sentS, double[] ttftMs, double[] latencyMs) {
        if (sentS.length != ttftMs.length || sentS.length != latencyMs.length) {
            throw new IllegalArgumentException("one send time, TTFT and latency per request: " + sentS.length + ", " + ttftMs.length + ", " + latencyMs.length);
        }
        Integer[] order = new Integer[sentS.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingDouble(i -> sentS[i]));
        List<double[]> ttft = new ArrayList<>();
        List<double[]> lat = new ArrayList<>();
        double end = 0;
        double yMax = 1;
        for (int i : order) {
            ttft.add(new double[] {sentS[i], ttftMs[i]});
            lat.add(new double[] {sentS[i], latencyMs[i]});
            end = Math.max(end, sentS[i]);
            yMax = Math.max(yMax, Math.max(ttftMs[i], latencyMs[i]));
        }
        return new PlotModel("Latency over time", new PlotModel.Axis("sent at, seconds from the start", 0, Math.max(1e-3, end), false),
                new PlotModel.Axis("ms", 0, yMax * 1.1, false),
                List.of(new PlotModel.Line("TTFT", "measured", "solid", 0, ttft), new PlotModel.Line("request latency", "measured", "solid", 1, lat)), List.of(),
                List.of(sentS.length + " requests"));
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "—" : new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }
}
