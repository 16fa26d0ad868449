package org.llmwb.core.engineview;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.llmwb.core.plot.PlotModel;

/**
 * CDF plots of a latency metric across the points of engine runs (an A/B comparison is two points):
 * x is the latency in ms (log axis), y the fraction of requests (or ITL gaps) at or below it. Drawn
 * from the 101 quantiles each engine-run record carries under {@code cdf}.
 */
public final class LatencyCdf {
    public static final List<String> METRICS = List.of("ttft_ms", "itl_ms", "tpot_ms", "request_latency_ms");

    private LatencyCdf() {
    }

    /** A short label for a run's point: what differs between A/B points (batching, KV, chunking). */
    public static String label(int index, Map<String, Object> rec) {
        if ("bench".equals(rec.get("kind"))) { // a benchmark of an endpoint: its load
            return "#" + (index + 1) + " bench " + rec.getOrDefault("model", "") + " · " + org.llmwb.core.experiment.RecordText.benchLoad(rec);
        }
        if (rec.get("stepModel") != null) { // a simulated cluster: its layout and router
            return "#" + (index + 1) + " sim " + org.llmwb.core.experiment.RecordText.simLayout(rec) + " · " + rec.getOrDefault("router", "least-outstanding");
        }
        String where = rec.get("serving") != null ? rec.get("serving") + " × " + rec.getOrDefault("engines", "?")
                : rec.getOrDefault("kv", "") + (Boolean.TRUE.equals(rec.get("prefixCaching")) ? "+prefix" : "");
        String extra = "";
        if (rec.get("speculative") instanceof Map<?, ?> sp) {
            extra += " · spec " + sp.get("method");
        }
        Object q = rec.get("quantization");
        if (q != null && !String.valueOf(q).equals("bf16 weights")) {
            extra += " · " + q;
        }
        return "#" + (index + 1) + " " + rec.getOrDefault("batching", "") + " · " + where
                + (Boolean.TRUE.equals(rec.get("chunkedPrefill")) ? " · chunked " + rec.getOrDefault("maxBatchedTokens", "") : " · unchunked") + extra;
    }

    @SuppressWarnings("unchecked")
    public static PlotModel plot(List<Map<String, Object>> records, String metric) {
        List<PlotModel.Line> lines = new ArrayList<>();
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (int i = 0; i < records.size(); i++) {
            Object cdf = records.get(i).get("cdf");
            if (!(cdf instanceof Map<?, ?> m) || !(m.get(metric) instanceof List<?> q) || q.isEmpty()) {
                continue;
            }
            List<double[]> pts = new ArrayList<>();
            for (int p = 0; p < q.size(); p++) {
                double v = ((Number) q.get(p)).doubleValue();
                if (v > 0) {
                    pts.add(new double[] {v, p / (double) (q.size() - 1)});
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            lines.add(new PlotModel.Line(label(i, records.get(i)), "measured", "solid", i, pts));
        }
        if (lines.isEmpty()) {
            lo = 0.1;
            hi = 10;
        }
        double min = Math.pow(10, Math.floor(Math.log10(lo)));
        double max = Math.pow(10, Math.ceil(Math.log10(Math.max(hi, min * 10))));
        return new PlotModel(metric.replace("_ms", "").replace('_', ' ') + " CDF", new PlotModel.Axis(metric.replace('_', ' '), min, max, true),
                new PlotModel.Axis("fraction ≤ x", 0, 1, false), lines, List.of(), List.of(records.size() + " run point(s)"));
    }
}
