package org.llmwb.engine.spec;

import java.util.List;

import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.Sequence;

/**
 * Proposes draft tokens for decoding sequences. Each sequence's block table already covers its length plus the
 * slots reserved for its drafts, so a drafter that runs a model may write K/V there (the verify step rewrites
 * every position it keeps).
 */
public interface Drafter extends AutoCloseable {
    /** "ngram", "layer-skip" or "draft-model". */
    String name();

    /** Up to {@code ks[i]} drafts for {@code seqs.get(i)} (fewer, or none, when it has nothing to propose). */
    Scheduler.Draft[] propose(List<Sequence> seqs, int[] ks);

    /** Copy-on-write block copies the step makes in the target's pool, for a drafter with a pool of its own. */
    default void copyBlocks(List<int[]> copies) {
    }

    /** The sequence left the engine: drop what the drafter kept for it. */
    default void forget(Sequence s) {
    }

    @Override
    default void close() {
    }
}
