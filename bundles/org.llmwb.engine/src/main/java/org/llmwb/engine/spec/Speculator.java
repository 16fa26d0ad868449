package org.llmwb.engine.spec;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.Sequence;

/**
 * Speculative decoding's policy and bookkeeping for an engine: how many drafts each sequence gets (fixed K, or
 * adaptive), the drafter, and what it measured — acceptance rate per draft position, accepted length per verify,
 * draft time and verify time.
 */
public final class Speculator implements AutoCloseable {
    private final SpecConfig cfg;
    private final Drafter drafter;
    private final Map<Integer, Integer> ks = new HashMap<>();
    private final long[] proposedAt;
    private final long[] acceptedAt;
    private final long[] reachedAt;
    private long verifies;
    private long drafted;
    private long accepted;
    private long emitted;
    private double draftSeconds;
    private double verifySeconds;
    private int verifySteps;

    public Speculator(SpecConfig cfg, Drafter drafter) {
        if (!cfg.on()) {
            throw new IllegalArgumentException("speculation is off");
        }
        this.cfg = cfg;
        this.drafter = drafter;
        proposedAt = new long[cfg.k()];
        acceptedAt = new long[cfg.k()];
        reachedAt = new long[cfg.k()];
    }

    public SpecConfig config() {
        return cfg;
    }

    public Drafter drafter() {
        return drafter;
    }

    /** Draft slots to reserve for the sequence this step. */
    public int lookahead(Sequence s) {
        return cfg.adaptive() ? ks.getOrDefault(s.id(), cfg.k()) : cfg.k();
    }

    /** Records a step's verify results and times; adapts each sequence's K. */
    public void observe(List<Scheduler.Verified> vs, double draftS, double verifyS) {
        if (vs.isEmpty()) {
            return;
        }
        draftSeconds += draftS;
        verifySeconds += verifyS;
        verifySteps++;
        for (Scheduler.Verified v : vs) {
            if (v.drafted() == 0) {
                continue;
            }
            verifies++;
            drafted += v.drafted();
            accepted += v.accepted();
            emitted += v.accepted() + 1;
            for (int j = 0; j < v.drafted() && j < proposedAt.length; j++) {
                proposedAt[j]++;
                if (j <= v.accepted()) {
                    reachedAt[j]++;
                }
                if (j < v.accepted()) {
                    acceptedAt[j]++;
                }
            }
            if (cfg.adaptive()) {
                int k = lookahead(v.seq());
                ks.put(v.seq().id(), v.accepted() == v.drafted() ? Math.min(cfg.k(), k + 1) : Math.max(1, v.accepted() + 1));
            }
        }
    }

    public void forget(Sequence s) {
        ks.remove(s.id());
        drafter.forget(s);
    }

    /** Accepted drafts ÷ drafted. */
    public double acceptanceRate() {
        return drafted == 0 ? 0 : (double) accepted / drafted;
    }

    /** Mean drafts accepted per verify (of sequences that had drafts). */
    public double meanAccepted() {
        return verifies == 0 ? 0 : (double) accepted / verifies;
    }

    /** Figures for a run record. */
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", cfg.method().id());
        m.put("drafter", drafter.name());
        m.put("k", cfg.k());
        m.put("adaptive", cfg.adaptive());
        m.put("verifies", verifies);
        m.put("drafted", drafted);
        m.put("accepted", accepted);
        m.put("acceptanceRate", acceptanceRate());
        m.put("meanAcceptedLength", meanAccepted());
        m.put("tokensPerVerify", verifies == 0 ? 0 : (double) emitted / verifies);
        List<Double> perPos = new java.util.ArrayList<>();
        List<Double> cond = new java.util.ArrayList<>();
        for (int j = 0; j < proposedAt.length; j++) {
            perPos.add(proposedAt[j] == 0 ? 0.0 : (double) acceptedAt[j] / proposedAt[j]);
            cond.add(reachedAt[j] == 0 ? 0.0 : (double) acceptedAt[j] / reachedAt[j]);
        }
        m.put("acceptanceByPosition", perPos); // P(draft j kept), which needs every draft before it kept
        m.put("conditionalAcceptanceByPosition", cond); // P(draft j kept | drafts before it kept)
        m.put("draftSeconds", draftSeconds);
        m.put("verifySeconds", verifySeconds);
        m.put("verifySteps", verifySteps);
        m.put("draftMsPerStep", verifySteps == 0 ? 0 : draftSeconds / verifySteps * 1e3);
        m.put("verifyMsPerStep", verifySteps == 0 ? 0 : verifySeconds / verifySteps * 1e3);
        return m;
    }

    @Override
    public void close() {
        drafter.close();
    }
}
