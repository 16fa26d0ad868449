package org.llmwb.engine.sched;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.sched.SchedulerConfig.Batching;

/**
 * Decides, each step, which sequences run and how many of their tokens (after nano-vllm's Scheduler, with
 * static/dynamic batching, chunked prefill, ordering policies and recompute preemption added).
 * <ul>
 * <li>Without chunked prefill a step either prefills whole prompts (new arrivals go first, as in vLLM's
 * original scheduler) or decodes every running sequence: a long prompt stalls everyone's next token.</li>
 * <li>With chunked prefill a step first gives every decoding sequence its one token, then spends what is
 * left of the token budget on prompt chunks: in-flight prefills first, then new admissions.</li>
 * <li>When a decoding sequence's next token has no free block, the lowest-ranked running sequence is
 * preempted: its blocks are freed and it waits to be recomputed (its prompt and output prefilled again).</li>
 * </ul>
 * {@link #postprocess} then advances each sequence by the tokens it ran, samples where a sequence reached its
 * end, and retires finished ones.
 */
public final class Scheduler {
    /**
     * One sequence's part of a step: tokens {@code [start, start + count)}; {@code decode} when it is one new token.
     * {@code draftSlots} &gt; 0 on a decode: KV slots reserved past the token for that many speculative drafts
     * (the engine asks its drafter for up to that many; the verify step runs them with the token).
     */
    public record Work(Sequence seq, int start, int count, boolean decode, int draftSlots) {
        public Work(Sequence seq, int start, int count, boolean decode) {
            this(seq, start, count, decode, 0);
        }
    }

    /** A speculative step's drafts for one work item: tokens and, per token, the distribution they were drawn from (null = chosen outright). */
    public record Draft(int[] tokens, double[][] q) {
        public static final Draft NONE = new Draft(new int[0], null);

        public int length() {
            return tokens.length;
        }
    }

    /** What the verify step of one speculative work item decided. */
    public record Verified(Sequence seq, int drafted, int accepted) {
    }

    /**
     * A step's plan. {@code copies} are {src, dst} block copies (copy-on-write) to do before the forward.
     */
    public record Batch(List<Work> work, List<int[]> copies, List<Sequence> preempted) {
        public boolean isEmpty() {
            return work.isEmpty();
        }

        public int tokens() {
            return work.stream().mapToInt(Work::count).sum();
        }
    }

    private final KvCacheManager kv;
    private final SchedulerConfig cfg;
    private final int maxModelLen;
    private final List<Sequence> waiting = new ArrayList<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Comparator<Sequence> rank;
    private java.util.function.ToIntFunction<Sequence> lookahead;
    private final List<Verified> verified = new ArrayList<>();

    public Scheduler(KvCacheManager kv, SchedulerConfig cfg, int maxModelLen) {
        this.kv = kv;
        this.cfg = cfg;
        this.maxModelLen = maxModelLen;
        Comparator<Sequence> byArrival = Comparator.comparingDouble(Sequence::arrival).thenComparingInt(Sequence::id);
        rank = switch (cfg.order()) {
            case FCFS -> byArrival;
            case SHORTEST -> Comparator.comparingInt(Sequence::length).thenComparing(byArrival);
            case PRIORITY -> Comparator.comparingInt(Sequence::priority).thenComparing(byArrival);
        };
    }

    /**
     * Turns speculative decoding on: each decoding sequence gets {@code lookahead(seq)} draft slots reserved
     * when the budget, its limits and free blocks allow (null turns it off).
     */
    public void speculate(java.util.function.ToIntFunction<Sequence> lookahead) {
        this.lookahead = lookahead;
    }

    /** The speculative work items of the last {@link #postprocess}: drafted and accepted per sequence. */
    public List<Verified> verified() {
        return Collections.unmodifiableList(verified);
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    public SchedulerConfig config() {
        return cfg;
    }

    public KvCacheManager kv() {
        return kv;
    }

    /** Checks that the sequence can ever run here, then queues it; throws IllegalArgumentException saying why not. */
    public void add(Sequence s) {
        if (s.length() >= maxModelLen) {
            throw new IllegalArgumentException("prompt of " + s.length() + " tokens does not fit the model's " + maxModelLen + " positions");
        }
        int longest = Math.min(maxModelLen, s.length() + s.params().maxTokens());
        int blocks = (longest + kv.blockSize() - 1) / kv.blockSize();
        if (blocks > kv.totalBlocks()) {
            throw new IllegalArgumentException("prompt + max tokens = " + longest + " tokens need " + blocks + " KV blocks; the pool has " + kv.totalBlocks());
        }
        if (kv instanceof org.llmwb.engine.kv.ContiguousKvManager c && longest > c.reservedTokens()) {
            throw new IllegalArgumentException("prompt + max tokens = " + longest + " tokens exceed the contiguous reservation of " + c.reservedTokens());
        }
        if (!cfg.chunkedPrefill() && s.length() > cfg.maxBatchedTokens()) {
            throw new IllegalArgumentException("prompt of " + s.length() + " tokens exceeds the step budget of " + cfg.maxBatchedTokens()
                    + " tokens and chunked prefill is off");
        }
        s.status = Sequence.Status.WAITING;
        waiting.add(s);
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    public List<Sequence> waiting() {
        return Collections.unmodifiableList(waiting);
    }

    public List<Sequence> running() {
        return Collections.unmodifiableList(running);
    }

    /**
     * Plans the next step.
     *
     * @param now engine clock (seconds), for the dynamic batching window
     * @param moreArrivals whether more requests may still arrive (a dynamic batch stops waiting when none will)
     */
    public Batch schedule(double now, boolean moreArrivals) {
        waiting.sort(rank);
        List<Work> work = new ArrayList<>();
        List<int[]> copies = new ArrayList<>();
        List<Sequence> preempted = new ArrayList<>();
        int[] budget = {cfg.maxBatchedTokens()};
        boolean continuous = cfg.batching() == Batching.CONTINUOUS;
        if (!continuous && running.isEmpty() && !waiting.isEmpty() && batchReady(now, moreArrivals)) {
            admitWholeBatch(now);
        }
        if (cfg.chunkedPrefill()) {
            decodes(work, copies, preempted, budget);
            prefills(work, budget, true);
            if (continuous) {
                admit(work, budget, true, now);
            }
        } else {
            if (continuous) {
                admit(work, budget, false, now);
            }
            prefills(work, budget, false);
            if (work.isEmpty()) {
                decodes(work, copies, preempted, budget);
            }
        }
        return new Batch(work, copies, preempted);
    }

    private boolean batchReady(double now, boolean moreArrivals) {
        if (cfg.batching() == Batching.STATIC || !moreArrivals || waiting.size() >= cfg.maxSeqs()) {
            return true;
        }
        double oldest = waiting.stream().mapToDouble(Sequence::arrival).min().orElse(now);
        return now - oldest >= cfg.batchWindowS();
    }

    /** Static and dynamic batching: the next batch is every waiting request that fits, up to maxSeqs. */
    private void admitWholeBatch(double now) {
        while (!waiting.isEmpty() && running.size() < cfg.maxSeqs() && kv.canAllocate(waiting.get(0).kv())) {
            start(waiting.remove(0), now);
        }
    }

    private void start(Sequence s, double now) {
        kv.allocate(s.kv());
        started(s, now);
    }

    private void started(Sequence s, double now) {
        s.computed = s.kv().cachedTokens();
        s.needsSlot = false;
        s.status = Sequence.Status.RUNNING;
        if (Double.isNaN(s.admitted)) {
            s.admitted = now;
            s.cachedPrompt = s.kv().cachedTokens();
        }
        running.add(s);
    }

    /** Continuous batching: admits waiting requests in rank order while sequences, blocks and budget allow. */
    private void admit(List<Work> work, int[] budget, boolean chunked, double now) {
        while (!waiting.isEmpty() && running.size() < cfg.maxSeqs() && budget[0] > 0) {
            Sequence s = waiting.get(0);
            if (!kv.canAllocate(s.kv())) {
                return;
            }
            kv.allocate(s.kv());
            int need = s.length() - s.kv().cachedTokens();
            if (!chunked && need > budget[0]) {
                kv.free(s.kv());
                return;
            }
            waiting.remove(0);
            started(s, now);
            int n = Math.min(need, budget[0]);
            work.add(new Work(s, s.computed, n, false));
            budget[0] -= n;
        }
    }

    /** Running sequences that still have prompt (or recompute) tokens: whole (unchunked) or chunks within the budget. */
    private void prefills(List<Work> work, int[] budget, boolean chunked) {
        for (Sequence s : running) {
            if (budget[0] <= 0 || isDecode(s) || scheduled(work, s)) {
                continue;
            }
            int need = s.length() - s.computed;
            if (!chunked && need > budget[0]) {
                continue;
            }
            int n = Math.min(need, budget[0]);
            work.add(new Work(s, s.computed, n, false));
            budget[0] -= n;
        }
    }

    private static boolean scheduled(List<Work> work, Sequence s) {
        for (Work w : work) {
            if (w.seq() == s) {
                return true;
            }
        }
        return false;
    }

    private static boolean isDecode(Sequence s) {
        return s.outputLength() > 0 && s.length() - s.computed == 1;
    }

    /** Every running decode gets its token, making room by preempting the lowest-ranked sequences. */
    private void decodes(List<Work> work, List<int[]> copies, List<Sequence> preempted, int[] budget) {
        List<Sequence> order = new ArrayList<>(running);
        order.sort(rank);
        for (Sequence s : order) {
            if (s.status != Sequence.Status.RUNNING || !isDecode(s)) {
                continue;
            }
            if (budget[0] <= 0) {
                break;
            }
            boolean placed = true;
            if (s.needsSlot) {
                while (!kv.canAppend(s.kv())) {
                    Sequence victim = running.stream().max(rank).orElseThrow();
                    preempt(victim, preempted);
                    if (victim == s) {
                        placed = false;
                        break;
                    }
                }
                if (placed) {
                    int[] c = kv.appendSlot(s.kv());
                    if (c != null) {
                        copies.add(c);
                    }
                    s.needsSlot = false;
                }
            }
            if (placed) {
                int k = 0;
                if (lookahead != null) {
                    // drafts beyond the output limit, the model's length or the step budget could never be kept
                    k = Math.min(lookahead.applyAsInt(s), Math.min(budget[0] - 1, s.params().maxTokens() - s.outputLength() - 1));
                    k = Math.min(k, maxModelLen - s.length() - 1);
                    // drafts never take the last free blocks: the other running sequences' next tokens come first
                    if (k > 0 && kv.canReserve(s.kv(), k) && kv.freeBlocks() > running.size()) {
                        kv.reserve(s.kv(), k);
                    } else {
                        k = 0;
                    }
                }
                work.add(new Work(s, s.computed, 1, true, k));
                budget[0] -= 1 + k;
            }
        }
    }

    private void preempt(Sequence s, List<Sequence> preempted) {
        kv.free(s.kv());
        s.computed = 0;
        s.needsSlot = false;
        s.status = Sequence.Status.WAITING;
        s.preemptions++;
        running.remove(s);
        waiting.add(s);
        preempted.add(s);
    }

    /**
     * After the forward: advances each sequence by the tokens it ran and, where it reached its end, samples the
     * next token from its logits row ({@code logits[i]} belongs to {@code batch.work().get(i)}).
     *
     * @return sequences that finished in this step
     */
    public List<Sequence> postprocess(Batch batch, float[][] logits, double now) {
        return postprocess(batch, logits, null, now);
    }

    /**
     * After the forward of a step that may hold speculative work: {@code rows} are the logits rows in work
     * order, one per plain work item and {@code 1 + drafts[i].length()} for a work item that verified drafts
     * (row j predicts the token after the j-th verified position). Drafts are accepted left to right — greedy:
     * while they equal the target's argmax; sampled: with probability min(1, p/q), a rejection resampling from
     * the normalised max(0, p − q) — and the step then adds the target's own next token (the correction, or
     * the bonus token when every draft was accepted). Rejected drafts' KV slots are given back.
     *
     * @param drafts per work item, its drafts (null or {@link Draft#NONE} for plain work); null when none
     * @return sequences that finished in this step
     */
    public List<Sequence> postprocess(Batch batch, float[][] rows, Draft[] drafts, double now) {
        return postprocess(batch, rows, null, drafts, now);
    }

    /**
     * After a greedy step whose tokens were chosen where the logits are ({@code ModelRunner.runGreedy}): {@code tokens}
     * holds one token per logits row, in the same order {@link #postprocess(Batch, float[][], Draft[], double)} reads rows.
     * Every sequence in the batch must be greedy and there must be no drafts.
     */
    public List<Sequence> postprocessGreedy(Batch batch, int[] tokens, double now) {
        return postprocess(batch, null, tokens, null, now);
    }

    private List<Sequence> postprocess(Batch batch, float[][] rows, int[] tokens, Draft[] drafts, double now) {
        List<Sequence> done = new ArrayList<>();
        verified.clear();
        int row = 0;
        for (int i = 0; i < batch.work().size(); i++) {
            Work w = batch.work().get(i);
            Draft d = drafts == null || drafts[i] == null ? Draft.NONE : drafts[i];
            Sequence s = w.seq();
            int first = row;
            row += 1 + d.length();
            s.computed += w.count();
            if (w.draftSlots() > 0 || d.length() > 0) {
                speculative(w, s, d, rows, first, now, done);
                continue;
            }
            kv.markComputed(s.kv(), s.computed);
            if (s.computed < s.length()) {
                continue; // a prompt chunk: no token yet
            }
            int token;
            if (tokens != null) {
                if (!s.params().isGreedy()) {
                    throw new IllegalStateException("sequence " + s.id() + " samples (temperature " + s.params().temperature() + "): it needs its logits");
                }
                token = tokens[first];
            } else {
                token = Sampler.sample(rows[first], s.params(), s.rng());
            }
            if (emit(s, token, now)) {
                done.add(s);
            } else {
                s.needsSlot = true;
            }
        }
        return done;
    }

    private void speculative(Work w, Sequence s, Draft d, float[][] rows, int first, double now, List<Sequence> done) {
        int[] out = SpecVerifier.verify(rows, first, d, s.params(), s.rng());
        int accepted = out.length - 1;
        verified.add(new Verified(s, d.length(), accepted));
        for (int t : out) {
            if (emit(s, t, now)) {
                done.add(s);
                return;
            }
        }
        s.computed += accepted; // the accepted drafts' KV was written by the verify step
        kv.markComputed(s.kv(), s.computed);
        kv.trim(s.kv(), s.computed);
        s.needsSlot = true;
    }

    /** Records a sampled token; returns true (and retires the sequence) when it was the last. */
    private boolean emit(Sequence s, int token, double now) {
        int out = s.outputLength() + 1;
        boolean stop = !s.params().ignoreStop() && s.params().stopTokens().contains(token);
        boolean last = stop || out >= s.params().maxTokens() || s.length() + 1 >= maxModelLen;
        if (last) {
            s.finishReason = stop ? Sequence.FinishReason.STOP : Sequence.FinishReason.LENGTH;
        }
        s.recordToken(token, now, last);
        if (last) {
            finish(s, now);
        }
        return last;
    }

    /**
     * Takes in a sequence whose first {@code computed} tokens already have K/V elsewhere (a prefill worker's pool)
     * and whose last token was sampled there: allocates its blocks now, so the caller can write that K/V into
     * them, and puts it straight into decoding. Returns false (nothing changed) when sequences or blocks are short.
     */
    public boolean adopt(Sequence s, int computed, double now) {
        if (s.length() >= maxModelLen) {
            throw new IllegalArgumentException("sequence of " + s.length() + " tokens does not fit the model's " + maxModelLen + " positions");
        }
        if (running.size() >= cfg.maxSeqs() || !kv.canAllocate(s.kv()) || kv.freeBlocks() - (s.length() + kv.blockSize() - 1) / kv.blockSize() < running.size()) {
            return false;
        }
        kv.allocate(s.kv());
        s.computed = computed;
        s.needsSlot = false;
        s.status = Sequence.Status.RUNNING;
        s.admitted = now;
        kv.markComputed(s.kv(), computed);
        running.add(s);
        return true;
    }

    private void finish(Sequence s, double now) {
        s.finalTable = s.kv().blockTable();
        kv.free(s.kv());
        running.remove(s);
        s.status = Sequence.Status.FINISHED;
        s.finished = now;
    }

    /** Removes a sequence wherever it is (a client went away); frees its blocks. */
    public boolean abort(Sequence s, double now) {
        if (waiting.remove(s) || running.contains(s)) {
            if (running.contains(s)) {
                finish(s, now);
            } else {
                s.status = Sequence.Status.FINISHED;
                s.finished = now;
            }
            s.finishReason = Sequence.FinishReason.ABORT;
            return true;
        }
        return false;
    }
}
