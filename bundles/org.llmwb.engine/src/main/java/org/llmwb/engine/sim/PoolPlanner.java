package org.llmwb.engine.sim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import org.llmwb.core.InputException;
import org.llmwb.engine.run.Request;

/**
 * Which way to spend a fixed number of GPUs on a workload: every aggregated layout (replicas of TP t) and every
 * disaggregated one (P prefill replicas of TP p, D decode replicas of TP d, P·p + D·d = the GPUs), each simulated on
 * the same requests; ranked by goodput — requests per second that met both SLOs (TTFT and TPOT) — so a layout that
 * cannot keep up with the arrival rate queues, misses its SLOs and falls down the ranking.
 */
public final class PoolPlanner {
    /** One layout's outcome. {@code prefill} 0: aggregated. */
    public record Candidate(int prefill, int prefillTp, int decode, int decodeTp, double goodputReqS, double sloShare, double ttftP90Ms, double tpotP90Ms,
            double outputTokensPerSPerGpu) {
        public String label() {
            return prefill == 0 ? String.format(Locale.ROOT, "aggregated %d × TP%d", decode, decodeTp)
                    : String.format(Locale.ROOT, "%dP×TP%d : %dD×TP%d", prefill, prefillTp, decode, decodeTp);
        }
    }

    private PoolPlanner() {
    }

    /**
     * Simulates every layout of exactly {@code gpus} GPUs with the given TP choices (sizes that do not divide the
     * model's heads or whose weights do not fit are skipped) and returns them best first.
     */
    public static List<Candidate> plan(ServingSim.Config base, List<Request> reqs, int gpus, int[] tps, boolean disaggregated,
            java.util.function.Consumer<String> progress) {
        if (gpus < 1 || gpus > 4096) {
            throw new InputException("--plan-gpus must be in 1..4096, not " + gpus);
        }
        List<int[]> layouts = new ArrayList<>(); // {P, p, D, d}
        for (int d : tps) {
            if (gpus % d == 0 && usable(base, d)) {
                layouts.add(new int[] {0, 1, gpus / d, d});
            }
        }
        if (disaggregated) {
            for (int p : tps) {
                for (int d : tps) {
                    if (!usable(base, p) || !usable(base, d)) {
                        continue;
                    }
                    for (int np = 1; np * p < gpus; np++) {
                        int rest = gpus - np * p;
                        if (rest % d == 0) {
                            layouts.add(new int[] {np, p, rest / d, d});
                        }
                    }
                }
            }
        }
        if (layouts.isEmpty()) {
            throw new InputException("no layout of " + gpus + " GPUs fits " + base.model().name() + " with TP in " + java.util.Arrays.toString(tps));
        }
        if (layouts.size() > 400) {
            throw new InputException(layouts.size() + " layouts to simulate: narrow the TP choices or the GPU count (at most 400)");
        }
        List<Candidate> out = new ArrayList<>();
        for (int[] l : layouts) {
            ServingSim.Config c = base.withReplicas(l[2], l[3]).withPrefillPool(l[0], l[1]);
            ServingSim.Result r = new ServingSim(c).run(reqs);
            var m = r.metrics();
            Candidate cand = new Candidate(l[0], l[1], l[2], l[3], m.goodputPerS(), m.requests() == 0 ? 0 : (double) m.metSlo() / m.requests(),
                    m.table().get("ttft_ms").p90(), m.table().get("tpot_ms").p90(), r.outputTokensPerSPerGpu());
            out.add(cand);
            if (progress != null) {
                progress.accept(String.format(Locale.ROOT, "%-26s goodput %7.2f req/s (%3.0f%% in SLO), TTFT p90 %8.1f ms, TPOT p90 %6.2f ms", cand.label(),
                        cand.goodputReqS(), 100 * cand.sloShare(), cand.ttftP90Ms(), cand.tpotP90Ms()));
            }
        }
        out.sort(Comparator.comparingDouble(Candidate::goodputReqS).reversed().thenComparingDouble(Candidate::ttftP90Ms));
        return out;
    }

    private static boolean usable(ServingSim.Config base, int tp) {
        if (base.model().numHeads() % tp != 0) {
            return false;
        }
        try {
            ServingSim.kvBlocks(base, tp);
            return true;
        } catch (InputException e) {
            return false;
        }
    }
}
