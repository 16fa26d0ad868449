package org.llmwb.engine.sched;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

import org.llmwb.engine.kv.KvSeq;

/**
 * One request's state in the engine: its tokens (prompt, then generated), how many of them have their KV in
 * the cache ({@link #computed()}), its sampling parameters and its timeline. Prefill and decode are one rule:
 * each step a running sequence processes some of its {@code length - computed} uncomputed tokens (a decode is
 * the case of one); when a step reaches the end, a token is sampled.
 */
public final class Sequence {
    public enum Status { WAITING, RUNNING, FINISHED }

    public enum FinishReason { STOP, LENGTH, ABORT }

    /** Receives each generated token as it is sampled (streaming). Called on the engine's thread. */
    public interface TokenListener {
        void token(Sequence s, int token, boolean last);
    }

    private final int id;
    private final KvSeq kv;
    private final int promptLength;
    private final SamplingParams params;
    private final int priority;
    private final double arrival;
    private final SplittableRandom rng;
    private final List<Double> tokenTimes = new ArrayList<>();
    Status status = Status.WAITING;
    FinishReason finishReason;
    int computed;
    boolean needsSlot;
    int preemptions;
    double admitted = Double.NaN;
    int cachedPrompt;
    double finished = Double.NaN;
    TokenListener listener;
    int[] finalTable;
    /** Caller's label (request id), free-form. */
    public String tag;

    public Sequence(int id, int[] prompt, SamplingParams params, int priority, double arrival) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
        this.id = id;
        List<Integer> p = new ArrayList<>(prompt.length);
        for (int t : prompt) {
            p.add(t);
        }
        this.kv = new KvSeq(p);
        this.promptLength = prompt.length;
        this.params = params;
        this.priority = priority;
        this.arrival = arrival;
        this.rng = new SplittableRandom(params.seed()); // the request's own seed: same seed, same tokens, whatever it is batched with
    }

    public int id() {
        return id;
    }

    public KvSeq kv() {
        return kv;
    }

    public int length() {
        return kv.length();
    }

    public int promptLength() {
        return promptLength;
    }

    public int outputLength() {
        return kv.length() - promptLength;
    }

    public int[] output() {
        return kv.tokens(promptLength, kv.length());
    }

    public int computed() {
        return computed;
    }

    public SamplingParams params() {
        return params;
    }

    public int priority() {
        return priority;
    }

    public double arrival() {
        return arrival;
    }

    public Status status() {
        return status;
    }

    public FinishReason finishReason() {
        return finishReason;
    }

    public int preemptions() {
        return preemptions;
    }

    /** Engine-clock times (seconds) at which each output token was sampled. */
    public List<Double> tokenTimes() {
        return Collections.unmodifiableList(tokenTimes);
    }

    /** Prompt tokens served from the prefix cache at the first admission. */
    public int cachedPromptTokens() {
        return cachedPrompt;
    }

    public double finishedAt() {
        return finished;
    }

    /** The block table the sequence had when it finished (its blocks are free since, but hold its K/V until reused). */
    public int[] finalBlockTable() {
        return finalTable;
    }

    /** Moves the time of the first output token (disaggregation: it becomes visible once its K/V reached the decode worker). */
    public void firstTokenAt(double t) {
        if (tokenTimes.size() != 1) {
            throw new IllegalStateException("only a sequence holding just its first output token can be retimed");
        }
        tokenTimes.set(0, t);
    }

    /** Appends the first output token, sampled elsewhere (a prefill worker), at its time. */
    public void carryFirst(int token, double time) {
        if (outputLength() != 0) {
            throw new IllegalStateException("the sequence already has output");
        }
        kv.append(token);
        tokenTimes.add(time);
    }

    public void listener(TokenListener l) {
        this.listener = l;
    }

    SplittableRandom rng() {
        return rng;
    }

    void recordToken(int token, double now, boolean last) {
        kv.append(token);
        tokenTimes.add(now);
        if (listener != null) {
            listener.token(this, token, last);
        }
    }

    @Override
    public String toString() {
        return "seq " + id + " (" + status + ", " + computed + "/" + length() + ")";
    }
}
