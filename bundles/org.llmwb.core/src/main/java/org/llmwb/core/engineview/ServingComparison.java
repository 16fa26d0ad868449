package org.llmwb.core.engineview;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.plot.PlotModel;

/**
 * One workload seen through several sources side by side — a benchmark of a live endpoint ({@code kind: bench}), the
 * engine's own run, the serving simulator — with every metric's difference from a reference source (by default the
 * first: what was measured). All three write the same flat record fields ({@code ttft_ms_p50}, {@code itl_ms_p99},
 * {@code outputTokensPerS}, …, and a {@code cdf} block), so the comparison is one table and one CDF plot.
 */
public final class ServingComparison {
    /** A metric row: the record field and how it reads. */
    public record Metric(String field, String label, String unit) {
    }

    public static final List<Metric> METRICS = List.of(new Metric("ttft_ms_p50", "TTFT p50", "ms"), new Metric("ttft_ms_p90", "TTFT p90", "ms"),
            new Metric("ttft_ms_p99", "TTFT p99", "ms"), new Metric("itl_ms_p50", "ITL p50", "ms"), new Metric("itl_ms_p99", "ITL p99", "ms"),
            new Metric("tpot_ms_avg", "TPOT avg", "ms"), new Metric("request_latency_ms_p50", "request latency p50", "ms"),
            new Metric("request_latency_ms_p99", "request latency p99", "ms"), new Metric("outputTokensPerS", "output throughput", "tok/s"),
            new Metric("requestsPerS", "request throughput", "req/s"));

    /** A labelled record. */
    public record Source(String label, Map<String, Object> record) {
        /** What produced it: measured by a client, run by the engine, or simulated. */
        public String kind() {
            return kindOf(record);
        }
    }

    /** One metric across the sources: values (NaN where a source lacks it) and relative differences from the reference. */
    public record Row(Metric metric, double[] values, double[] diff) {
    }

    private final List<Source> sources;
    private final int ref;
    private final double tolerance;

    /**
     * @param ref       index of the reference source
     * @param tolerance relative difference counted as agreement (0.05 = 5%)
     */
    public ServingComparison(List<Source> sources, int ref, double tolerance) {
        if (sources.size() < 2) {
            throw new IllegalArgumentException("a comparison needs at least two sources, got " + sources.size());
        }
        if (ref < 0 || ref >= sources.size()) {
            throw new IllegalArgumentException("reference " + (ref + 1) + " is not one of the " + sources.size() + " sources");
        }
        if (!(tolerance >= 0) || !Double.isFinite(tolerance)) {
            throw new IllegalArgumentException("tolerance must be a finite number >= 0, not " + tolerance);
        }
        this.sources = List.copyOf(sources);
        this.ref = ref;
        this.tolerance = tolerance;
    }

    public static String kindOf(Map<String, Object> rec) {
        if ("bench".equals(rec.get("kind"))) {
            return "measured";
        }
        return rec.get("stepModel") != null ? "simulated" : "engine";
    }

    /** True when the record carries the serving metrics a comparison reads. */
    public static boolean isServingRecord(Map<String, Object> rec) {
        return rec.get("ttft_ms_p50") instanceof Number;
    }

    public List<Source> sources() {
        return sources;
    }

    public int reference() {
        return ref;
    }

    public List<Row> rows() {
        List<Row> out = new ArrayList<>();
        for (Metric m : METRICS) {
            double[] v = new double[sources.size()];
            double[] d = new double[sources.size()];
            boolean any = false;
            for (int i = 0; i < v.length; i++) {
                v[i] = num(sources.get(i).record(), m.field());
                any |= !Double.isNaN(v[i]);
            }
            for (int i = 0; i < v.length; i++) {
                d[i] = i == ref || Double.isNaN(v[i]) || Double.isNaN(v[ref]) || v[ref] == 0 ? Double.NaN : (v[i] - v[ref]) / v[ref];
            }
            if (any) {
                out.add(new Row(m, v, d));
            }
        }
        return out;
    }

    static double num(Map<String, Object> r, String k) {
        return r.get(k) instanceof Number n && Double.isFinite(n.doubleValue()) ? n.doubleValue() : Double.NaN;
    }

    /** The table as Markdown: one row per metric, one column per source, each value with its difference from the reference. */
    public String markdown() {
        StringBuilder b = new StringBuilder("| metric |");
        for (int i = 0; i < sources.size(); i++) {
            b.append(' ').append(sources.get(i).label()).append(" (").append(sources.get(i).kind()).append(i == ref ? ", reference" : "").append(") |");
        }
        b.append("\n|---|");
        b.append("---|".repeat(sources.size())).append('\n');
        for (Row r : rows()) {
            b.append("| ").append(r.metric().label()).append(" (").append(r.metric().unit()).append(") |");
            for (int i = 0; i < sources.size(); i++) {
                b.append(' ').append(cell(r, i)).append(" |");
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** The table as fixed-width text for a terminal. */
    public String text() {
        List<String[]> cells = new ArrayList<>();
        String[] head = new String[sources.size() + 1];
        head[0] = "metric";
        for (int i = 0; i < sources.size(); i++) {
            head[i + 1] = (i + 1) + " " + sources.get(i).kind() + (i == ref ? " (ref)" : "");
        }
        cells.add(head);
        for (Row r : rows()) {
            String[] c = new String[sources.size() + 1];
            c[0] = r.metric().label() + " " + r.metric().unit();
            for (int i = 0; i < sources.size(); i++) {
                c[i + 1] = cell(r, i);
            }
            cells.add(c);
        }
        int[] w = new int[head.length];
        for (String[] c : cells) {
            for (int i = 0; i < c.length; i++) {
                w[i] = Math.max(w[i], c[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < sources.size(); i++) {
            b.append(i + 1).append(": ").append(sources.get(i).label()).append('\n');
        }
        for (String[] c : cells) {
            for (int i = 0; i < c.length; i++) {
                b.append(i == 0 ? String.format(Locale.ROOT, "%-" + w[i] + "s", c[i]) : String.format(Locale.ROOT, "  %" + w[i] + "s", c[i]));
            }
            b.append('\n');
        }
        return b.toString();
    }

    private String cell(Row r, int i) {
        double v = r.values()[i];
        if (Double.isNaN(v)) {
            return "—";
        }
        String s = fmt(v);
        double d = r.diff()[i];
        return Double.isNaN(d) ? s : s + String.format(Locale.ROOT, " (%+.1f%%%s)", 100 * d, Math.abs(d) <= tolerance ? "" : " ✗");
    }

    /** A metric's value as the table prints it (the CLI and the Comparison view). */
    public static String fmt(double v) {
        double a = Math.abs(v);
        return a >= 1000 ? String.format(Locale.ROOT, "%,.0f", v) : a >= 100 ? String.format(Locale.ROOT, "%.1f", v) : a >= 1 ? String.format(Locale.ROOT, "%.2f", v)
                : String.format(Locale.ROOT, "%.3g", v);
    }

    /** The differences in words: per source, how many metrics agree within the tolerance and the largest gap. */
    public List<String> differences() {
        List<String> out = new ArrayList<>();
        List<Row> rows = rows();
        for (int i = 0; i < sources.size(); i++) {
            if (i == ref) {
                continue;
            }
            int n = 0;
            int within = 0;
            Row worst = null;
            for (Row r : rows) {
                double d = r.diff()[i];
                if (Double.isNaN(d)) {
                    continue;
                }
                n++;
                within += Math.abs(d) <= tolerance ? 1 : 0;
                if (worst == null || Math.abs(d) > Math.abs(worst.diff()[i])) {
                    worst = r;
                }
            }
            Source s = sources.get(i);
            if (n == 0) {
                out.add(String.format(Locale.ROOT, "%d (%s) shares no metric with the reference", i + 1, s.kind()));
                continue;
            }
            out.add(String.format(Locale.ROOT, "%d (%s) vs %d (%s): %d of %d metrics within %.0f%%; largest difference %s %s vs %s %s (%+.1f%%)", i + 1, s.kind(),
                    ref + 1, sources.get(ref).kind(), within, n, 100 * tolerance, worst.metric().label(), fmt(worst.values()[i]), fmt(worst.values()[ref]),
                    worst.metric().unit(), 100 * worst.diff()[i]));
        }
        return out;
    }

    /** The largest |relative difference| of any source from the reference (NaN when none is comparable). */
    public double worst() {
        double w = Double.NaN;
        for (Row r : rows()) {
            for (double d : r.diff()) {
                if (!Double.isNaN(d) && (Double.isNaN(w) || Math.abs(d) > w)) {
                    w = Math.abs(d);
                }
            }
        }
        return w;
    }

    /** The comparison as a JSON-ready map: sources, reference, tolerance and rows. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Map<String, Object>> src = new ArrayList<>();
        for (Source s : sources) {
            src.add(Map.of("label", s.label(), "kind", s.kind()));
        }
        m.put("sources", src);
        m.put("reference", ref + 1);
        m.put("tolerance", tolerance);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Row r : rows()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("field", r.metric().field());
            List<Object> v = new ArrayList<>();
            List<Object> d = new ArrayList<>();
            for (int i = 0; i < r.values().length; i++) {
                v.add(Double.isNaN(r.values()[i]) ? null : r.values()[i]);
                d.add(Double.isNaN(r.diff()[i]) ? null : r.diff()[i]);
            }
            o.put("values", v);
            o.put("relativeDifference", d);
            rows.add(o);
        }
        m.put("rows", rows);
        m.put("differences", differences());
        return m;
    }

    /** A latency CDF with one line per source, labelled by the sources' labels. */
    public PlotModel cdf(String metric) {
        List<Map<String, Object>> recs = new ArrayList<>();
        for (Source s : sources) {
            recs.add(s.record());
        }
        PlotModel p = LatencyCdf.plot(recs, metric);
        List<PlotModel.Line> lines = new ArrayList<>();
        int k = 0;
        for (int i = 0; i < sources.size(); i++) {
            if (sources.get(i).record().get("cdf") instanceof Map<?, ?> m && m.get(metric) instanceof List<?> q && !q.isEmpty()) {
                PlotModel.Line l = p.lines().get(k++);
                lines.add(new PlotModel.Line((i + 1) + " " + sources.get(i).kind() + ": " + sources.get(i).label(), l.kind(), l.style(), i, l.points()));
            }
        }
        return new PlotModel(p.title() + " — " + sources.size() + " sources", p.x(), p.y(), lines, p.markers(), List.of("reference: " + (ref + 1)));
    }
}
