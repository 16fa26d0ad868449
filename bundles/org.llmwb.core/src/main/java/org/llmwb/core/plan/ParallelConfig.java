package org.llmwb.core.plan;

/**
 * How one deployment splits a model over GPUs. World size = tp × pp × dp × cp. Ranks are laid out
 * with TP innermost, then CP, then DP, then PP (Megatron's order), so TP groups are the most
 * tightly packed. EP reuses the tp × dp GPUs of one pipeline stage: experts are split into
 * {@code ep} groups and each expert is further sharded over (tp × dp) / ep GPUs; with ep = 1,
 * experts are tensor-parallel like a dense MLP. SP shards the norm/residual regions of each TP
 * group along the sequence (all-reduce becomes reduce-scatter + all-gather).
 */
public record ParallelConfig(int tp, int pp, int dp, int ep, int cp, boolean sp) {

    public static ParallelConfig single() {
        return new ParallelConfig(1, 1, 1, 1, 1, false);
    }

    public int worldSize() {
        return tp * pp * dp * cp;
    }

    /** GPUs serving one copy of the model (one DP replica). */
    public int gpusPerReplica() {
        return tp * pp * cp;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("TP" + tp);
        if (pp > 1) {
            s.append("×PP").append(pp);
        }
        if (dp > 1) {
            s.append("×DP").append(dp);
        }
        if (ep > 1) {
            s.append("×EP").append(ep);
        }
        if (cp > 1) {
            s.append("×CP").append(cp);
        }
        if (sp) {
            s.append("+SP");
        }
        return s.toString();
    }
}
