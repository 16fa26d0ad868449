package org.llmwb.engine.metrics;

import java.util.List;

import org.llmwb.engine.sched.Sequence;

/**
 * One finished request's latencies (seconds). TTFT = first token − arrival; time to second token = second −
 * first; ITL = gaps between consecutive tokens; TPOT = (latency − TTFT) / (output − 1), the mean ITL; latency =
 * last token − arrival; per-user tokens/s = 1 / TPOT.
 */
public record RequestMetrics(int id, String tag, double arrival, int promptTokens, int cachedPromptTokens, int outputTokens, double ttft,
        double timeToSecondToken, double[] itl, double tpot, double latency, int preemptions, String finishReason) {

    /** The same figures under another id (a request's index when several engines served the run). */
    public RequestMetrics withId(int newId) {
        return new RequestMetrics(newId, tag, arrival, promptTokens, cachedPromptTokens, outputTokens, ttft, timeToSecondToken, itl, tpot, latency, preemptions,
                finishReason);
    }

    public static RequestMetrics of(Sequence s) {
        List<Double> t = s.tokenTimes();
        int n = t.size();
        double ttft = n > 0 ? t.get(0) - s.arrival() : Double.NaN;
        double ttst = n > 1 ? t.get(1) - t.get(0) : Double.NaN;
        double[] itl = new double[Math.max(0, n - 1)];
        for (int i = 1; i < n; i++) {
            itl[i - 1] = t.get(i) - t.get(i - 1);
        }
        double latency = n > 0 ? t.get(n - 1) - s.arrival() : Double.NaN;
        double tpot = n > 1 ? (latency - ttft) / (n - 1) : Double.NaN;
        return new RequestMetrics(s.id(), s.tag, s.arrival(), s.promptLength(), s.cachedPromptTokens(), n, ttft, ttst, itl, tpot, latency, s.preemptions(),
                s.finishReason() == null ? "" : s.finishReason().name().toLowerCase(java.util.Locale.ROOT));
    }

    public double userTokensPerSecond() {
        return tpot > 0 ? 1 / tpot : Double.NaN;
    }
}
