package org.llmwb.engine.spec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.sched.Sampler;
import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.Sequence;

/**
 * Drafts by running a model autoregressively: either the target itself through its first layers only
 * (self-speculation by early exit, sharing the target's KV pool: {@link #layerSkip}), or a smaller model of the
 * same vocabulary with a pool of its own indexed by the target's block tables ({@link #draftModel}). Drafts are
 * argmax for greedy sequences, else drawn from the draft's distribution q (kept for the acceptance test).
 */
public final class ModelDrafter implements Drafter {
    private final ModelRunner runner;
    private final int layers;
    private final boolean ownPool;
    private final boolean ownsRunner;
    /** Draft-model state: how many of the sequence's tokens have K/V in the draft's pool, and what it last drafted. */
    private record State(int computed, int base, int[] drafted, int preemptions) {
    }

    private final Map<Integer, State> states = new HashMap<>();
    private final Map<Integer, SplittableRandom> rngs = new HashMap<>();

    private ModelDrafter(ModelRunner runner, int layers, boolean ownPool, boolean ownsRunner) {
        this.runner = runner;
        this.layers = layers;
        this.ownPool = ownPool;
        this.ownsRunner = ownsRunner;
    }

    /** Self-speculation: the target's first {@code layers} layers, its LM head, its pool. */
    public static ModelDrafter layerSkip(ModelRunner target, int layers) {
        if (layers < 1 || layers >= target.config().numLayers()) {
            throw new IllegalArgumentException("an early-exit draft runs 1.." + (target.config().numLayers() - 1) + " of the target's "
                    + target.config().numLayers() + " layers, not " + layers);
        }
        return new ModelDrafter(target, layers, false, false);
    }

    /** A separate draft model (closed with the drafter) whose pool has at least the target's blocks, of the same size. */
    public static ModelDrafter draftModel(ModelRunner draft, ModelRunner target) {
        if (draft.config().vocabSize() != target.config().vocabSize()) {
            throw new IllegalArgumentException("the draft model's vocabulary (" + draft.config().vocabSize() + ") differs from the target's ("
                    + target.config().vocabSize() + ")");
        }
        if (draft.blockSize() != target.blockSize() || draft.kvBlocks() < target.kvBlocks()) {
            throw new IllegalArgumentException("the draft model's pool must have the target's block size and at least its blocks");
        }
        return new ModelDrafter(draft, draft.config().numLayers(), true, true);
    }

    @Override
    public String name() {
        return ownPool ? "draft-model" : "layer-skip";
    }

    public ModelRunner runner() {
        return runner;
    }

    @Override
    public Scheduler.Draft[] propose(List<Sequence> seqs, int[] ks) {
        int n = seqs.size();
        int[][] tokens = new int[n][];
        double[][][] qs = new double[n][][];
        int[] base = new int[n];
        int[] from = new int[n];
        int maxK = 0;
        for (int i = 0; i < n; i++) {
            Sequence s = seqs.get(i);
            tokens[i] = new int[ks[i]];
            qs[i] = s.params().isGreedy() ? null : new double[ks[i]][];
            base[i] = s.length() - 1; // position of the newest token: its K/V is not in the cache yet
            from[i] = ownPool ? catchUp(s) : base[i];
            maxK = Math.max(maxK, ks[i]);
        }
        for (int step = 0; step < maxK; step++) {
            List<SeqInput> in = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (step >= ks[i]) {
                    continue;
                }
                Sequence s = seqs.get(i);
                int[] t;
                int past;
                if (step == 0) {
                    t = s.kv().tokens(from[i], s.length());
                    past = from[i];
                } else {
                    t = new int[] {tokens[i][step - 1]};
                    past = base[i] + step;
                }
                in.add(new SeqInput(t, past, s.kv().blockTable()));
                who.add(i);
            }
            float[][] logits = runner.run(in, layers);
            for (int r = 0; r < who.size(); r++) {
                int i = who.get(r);
                Sequence s = seqs.get(i);
                if (s.params().isGreedy()) {
                    tokens[i][step] = Sampler.argmax(logits[r]);
                } else {
                    double[] q = Sampler.probabilities(logits[r], s.params());
                    qs[i][step] = q;
                    tokens[i][step] = Sampler.draw(q, rngs.computeIfAbsent(s.id(), id -> new SplittableRandom(s.params().seed() * 0x9E3779B97F4A7C15L + 17)));
                }
            }
        }
        Scheduler.Draft[] out = new Scheduler.Draft[n];
        for (int i = 0; i < n; i++) {
            out[i] = new Scheduler.Draft(tokens[i], qs[i]);
            if (ownPool) {
                // K/V now written in the draft's pool: positions up to base, then the drafts fed back (all but the last)
                states.put(seqs.get(i).id(), new State(base[i] + 1, base[i] + 1, java.util.Arrays.copyOf(tokens[i], Math.max(0, ks[i] - 1)),
                        seqs.get(i).preemptions()));
            }
        }
        return out;
    }

    /** Where the draft model's pool stops being valid for this sequence: after its last verified tokens that match what it drafted. */
    private int catchUp(Sequence s) {
        State st = states.get(s.id());
        if (st == null || st.preemptions() != s.preemptions()) {
            return 0; // new, or recomputed into new blocks: the draft prefills it all
        }
        int valid = st.computed();
        for (int j = 0; j < st.drafted().length && st.base() + j < s.length() - 1 && s.kv().token(st.base() + j) == st.drafted()[j]; j++) {
            valid++;
        }
        return Math.min(valid, s.length() - 1);
    }


    @Override
    public void copyBlocks(List<int[]> copies) {
        if (ownPool) {
            runner.copyBlocks(copies);
        }
    }

    @Override
    public void forget(Sequence s) {
        states.remove(s.id());
        rngs.remove(s.id());
    }

    @Override
    public void close() {
        if (ownsRunner) {
            runner.close();
        }
    }
}
