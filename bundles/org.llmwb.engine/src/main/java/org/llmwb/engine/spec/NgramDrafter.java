package org.llmwb.engine.spec;

import java.util.List;

import org.llmwb.engine.kv.KvSeq;
import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.Sequence;

/**
 * Prompt lookup (n-gram) drafting, training free: the longest suffix of the sequence (from {@code maxN} down to
 * {@code minN} tokens) that occurred earlier in its prompt or output is looked up, most recent occurrence first,
 * and the tokens that followed it there are proposed. Pays off when the output copies its input (code edits,
 * extraction, summaries quoting the source) or repeats itself.
 */
public final class NgramDrafter implements Drafter {
    private final int minN;
    private final int maxN;

    public NgramDrafter(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("n-gram sizes need 1 <= min <= max, got " + minN + ".." + maxN);
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    @Override
    public String name() {
        return "ngram";
    }

    @Override
    public Scheduler.Draft[] propose(List<Sequence> seqs, int[] ks) {
        Scheduler.Draft[] out = new Scheduler.Draft[seqs.size()];
        for (int i = 0; i < out.length; i++) {
            KvSeq kv = seqs.get(i).kv();
            out[i] = new Scheduler.Draft(lookup(kv::token, kv.length(), ks[i], minN, maxN), null); // read in place: no copy of the sequence per step
        }
        return out;
    }

    /**
     * The tokens that followed an earlier occurrence of the longest matching suffix: the most recent occurrence
     * with {@code k} tokens after it, else the one with the most (the earliest), so a sequence caught in a
     * short loop still gets a full draft.
     */
    static int[] lookup(int[] t, int k, int minN, int maxN) {
        return lookup(i -> t[i], t.length, k, minN, maxN);
    }

    static int[] lookup(java.util.function.IntUnaryOperator t, int len, int k, int minN, int maxN) {
        for (int n = Math.min(maxN, len - 1); n >= minN; n--) {
            int best = -1;
            for (int start = len - n - 1; start >= 0; start--) {
                boolean match = true;
                for (int j = 0; j < n && match; j++) {
                    match = t.applyAsInt(start + j) == t.applyAsInt(len - n + j);
                }
                if (match) {
                    best = start;
                    if (len - (start + n) >= k) {
                        break;
                    }
                }
            }
            if (best >= 0) {
                int from = best + n;
                int[] out = new int[Math.min(from + k, len) - from];
                for (int j = 0; j < out.length; j++) {
                    out[j] = t.applyAsInt(from + j);
                }
                return out;
            }
        }
        return new int[0];
    }
}
