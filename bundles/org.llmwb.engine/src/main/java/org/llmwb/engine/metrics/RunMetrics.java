package org.llmwb.engine.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A run's AIPerf-style summary: per-metric statistics over requests (ITL over every gap of every request),
 * output-token and request throughput over the run's duration, and goodput — requests per second that met
 * both SLOs (TTFT and TPOT; a missing SLO always passes).
 */
public record RunMetrics(Map<String, Stats> table, int requests, long outputTokens, long promptTokens, double durationS, double outputTokensPerS,
        double requestsPerS, double goodputPerS, double sloTtftS, double sloTpotS, int metSlo) {

    public static final List<String> METRICS = List.of("ttft_ms", "time_to_second_token_ms", "itl_ms", "tpot_ms", "request_latency_ms",
            "user_tokens_per_s");

    public static RunMetrics of(List<RequestMetrics> reqs, double durationS, double sloTtftS, double sloTpotS) {
        Map<String, Stats> t = new LinkedHashMap<>();
        t.put("ttft_ms", Stats.of(ms(reqs.stream().mapToDouble(RequestMetrics::ttft).toArray())));
        t.put("time_to_second_token_ms", Stats.of(ms(reqs.stream().mapToDouble(RequestMetrics::timeToSecondToken).toArray())));
        t.put("itl_ms", Stats.of(ms(reqs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.itl())).toArray())));
        t.put("tpot_ms", Stats.of(ms(reqs.stream().mapToDouble(RequestMetrics::tpot).toArray())));
        t.put("request_latency_ms", Stats.of(ms(reqs.stream().mapToDouble(RequestMetrics::latency).toArray())));
        t.put("user_tokens_per_s", Stats.of(reqs.stream().mapToDouble(RequestMetrics::userTokensPerSecond).toArray()));
        long out = reqs.stream().mapToLong(RequestMetrics::outputTokens).sum();
        long in = reqs.stream().mapToLong(RequestMetrics::promptTokens).sum();
        int met = 0;
        for (RequestMetrics r : reqs) {
            boolean ok = r.outputTokens() > 0 && (sloTtftS <= 0 || r.ttft() <= sloTtftS) && (sloTpotS <= 0 || Double.isNaN(r.tpot()) || r.tpot() <= sloTpotS);
            if (ok) {
                met++;
            }
        }
        double d = durationS > 0 ? durationS : Double.NaN;
        return new RunMetrics(t, reqs.size(), out, in, durationS, out / d, reqs.size() / d, met / d, sloTtftS, sloTpotS, met);
    }

    /** 101 quantiles (p0..p100) of TTFT, every ITL gap, TPOT and request latency in ms: the {@code cdf} block of a record the Latency view plots. */
    public static Map<String, Object> cdfs(List<RequestMetrics> reqs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ttft_ms", quantiles(reqs.stream().mapToDouble(q -> q.ttft() * 1e3).toArray()));
        m.put("itl_ms", quantiles(reqs.stream().flatMapToDouble(q -> java.util.Arrays.stream(q.itl())).map(v -> v * 1e3).toArray()));
        m.put("tpot_ms", quantiles(reqs.stream().mapToDouble(q -> q.tpot() * 1e3).toArray()));
        m.put("request_latency_ms", quantiles(reqs.stream().mapToDouble(q -> q.latency() * 1e3).toArray()));
        return m;
    }

    public static List<Double> quantiles(double[] v) {
        double[] s = java.util.Arrays.stream(v).filter(Double::isFinite).sorted().toArray();
        List<Double> q = new java.util.ArrayList<>();
        if (s.length == 0) {
            return q;
        }
        for (int p = 0; p <= 100; p++) {
            double pos = p / 100.0 * (s.length - 1);
            int lo = (int) Math.floor(pos);
            int hi = Math.min(s.length - 1, lo + 1);
            q.add(s[lo] + (s[hi] - s[lo]) * (pos - lo));
        }
        return q;
    }

    private static double[] ms(double[] s) {
        for (int i = 0; i < s.length; i++) {
            s[i] *= 1e3;
        }
        return s;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        ObjectNode tab = o.putObject("latency");
        for (Map.Entry<String, Stats> e : table.entrySet()) {
            Stats s = e.getValue();
            ObjectNode r = tab.putObject(e.getKey());
            r.put("n", s.n());
            put(r, "avg", s.avg());
            put(r, "min", s.min());
            put(r, "max", s.max());
            put(r, "p50", s.p50());
            put(r, "p75", s.p75());
            put(r, "p90", s.p90());
            put(r, "p99", s.p99());
            put(r, "std", s.std());
        }
        o.put("requests", requests).put("outputTokens", outputTokens).put("promptTokens", promptTokens);
        put(o, "durationS", durationS);
        put(o, "outputTokensPerS", outputTokensPerS);
        put(o, "requestsPerS", requestsPerS);
        put(o, "goodputPerS", goodputPerS);
        o.put("metSlo", metSlo);
        put(o, "sloTtftMs", sloTtftS * 1e3);
        put(o, "sloTpotMs", sloTpotS * 1e3);
        return o;
    }

    private static void put(ObjectNode o, String k, double v) {
        if (Double.isFinite(v)) {
            o.put(k, v);
        } else {
            o.putNull(k);
        }
    }

    /** The table as text, one metric per row (what `llmwb run` prints). */
    public String text() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-26s %9s %9s %9s %9s %9s %9s %9s%n", "metric", "avg", "min", "max", "p99", "p90", "p75", "std"));
        for (Map.Entry<String, Stats> e : table.entrySet()) {
            Stats s = e.getValue();
            b.append(String.format(Locale.ROOT, "%-26s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f%n", e.getKey(), s.avg(), s.min(), s.max(), s.p99(), s.p90(),
                    s.p75(), s.std()));
        }
        b.append(String.format(Locale.ROOT, "output token throughput %.1f tok/s, request throughput %.2f req/s over %.2f s (%d requests, %d output tokens)%n",
                outputTokensPerS, requestsPerS, durationS, requests, outputTokens));
        if (sloTtftS > 0 || sloTpotS > 0) {
            b.append(String.format(Locale.ROOT, "goodput %.2f req/s: %d of %d requests met TTFT <= %s and TPOT <= %s%n", goodputPerS, metSlo, requests,
                    sloTtftS > 0 ? String.format(Locale.ROOT, "%.0f ms", sloTtftS * 1e3) : "any", sloTpotS > 0 ? String.format(Locale.ROOT, "%.0f ms", sloTpotS * 1e3) : "any"));
        }
        return b.toString();
    }

    public static List<String> columns() {
        List<String> c = new ArrayList<>();
        for (String m : METRICS) {
            for (String s : List.of("avg", "p50", "p90", "p99", "max", "std")) {
                c.add(m + "_" + s);
            }
        }
        return c;
    }
}
