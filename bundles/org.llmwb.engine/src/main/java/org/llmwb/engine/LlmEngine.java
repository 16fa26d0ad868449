package org.llmwb.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.kv.KvSeq;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;

/**
 * The engine: {@link #step} = {@link Scheduler#schedule} → {@link ModelRunner#run} → {@link Scheduler#postprocess}
 * (nano-vllm's split). Not thread-safe: one thread owns an engine and calls {@link #add} and {@link #step}.
 * Times are seconds on the engine's clock (wall time since it was made, unless a clock is given).
 */
public final class LlmEngine {
    private final ModelRunner runner;
    private final Scheduler scheduler;
    private final DoubleSupplier clock;
    private int nextId;
    private java.util.function.BiConsumer<Sequence, float[]> logitsTap;
    private boolean blockMaps;
    private int steps;
    private org.llmwb.engine.spec.Speculator speculator;
    private long peakAllocatedBytes;
    private double allocatedByteSeconds;
    private double usedByteSeconds;

    public LlmEngine(ModelRunner runner, KvCacheManager kv, SchedulerConfig cfg) {
        this(runner, kv, cfg, wallClock());
    }

    public LlmEngine(ModelRunner runner, KvCacheManager kv, SchedulerConfig cfg, DoubleSupplier clock) {
        this(runner, kv, cfg, 0, clock);
    }

    /** @param maxModelLen longest sequence served (0 = the model's maximum positions) */
    public LlmEngine(ModelRunner runner, KvCacheManager kv, SchedulerConfig cfg, int maxModelLen, DoubleSupplier clock) {
        if (kv.blockSize() != runner.blockSize() || kv.totalBlocks() > runner.kvBlocks()) {
            throw new IllegalArgumentException("the KV manager (" + kv.totalBlocks() + " × " + kv.blockSize() + ") does not match the runner's pool ("
                    + runner.kvBlocks() + " × " + runner.blockSize() + ")");
        }
        this.runner = runner;
        int modelMax = (int) Math.min(Integer.MAX_VALUE, runner.config().maxPositions());
        this.scheduler = new Scheduler(kv, cfg, maxModelLen > 0 ? Math.min(maxModelLen, modelMax) : modelMax);
        this.clock = clock;
    }

    public static DoubleSupplier wallClock() {
        long t0 = System.nanoTime();
        return () -> (System.nanoTime() - t0) / 1e9;
    }

    public double now() {
        return clock.getAsDouble();
    }

    public ModelRunner runner() {
        return runner;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Queues a request; throws IllegalArgumentException when it can never run here (too long for the model or pool). */
    public Sequence add(int[] prompt, SamplingParams params, int priority, double arrival) {
        Sequence s = new Sequence(nextId, prompt, params, priority, arrival);
        scheduler.add(s);
        nextId++;
        return s;
    }

    /**
     * A request prefilled elsewhere: its prompt, the first token sampled there (at {@code firstTime}), its K/V for the
     * prompt to be written into the block table this allocates. Returns null when there is no room now.
     */
    public Sequence adopt(int[] prompt, int firstToken, double firstTime, SamplingParams params, int priority, double arrival) {
        Sequence s = new Sequence(nextId, prompt, params, priority, arrival);
        s.carryFirst(firstToken, firstTime);
        if (!scheduler.adopt(s, prompt.length, now())) {
            return null;
        }
        nextId++;
        return s;
    }

    public boolean hasWork() {
        return scheduler.hasWork();
    }

    private boolean greedyOnRunner = !"false".equals(System.getProperty("llmwb.engine.greedyOnRunner"));

    /**
     * Whether steps whose sequences are all greedy let the runner choose the tokens ({@link ModelRunner#runGreedy}: on
     * a GPU the argmax runs there and only ids are downloaded) instead of returning logits to the sampler. Same tokens
     * either way; default on (system property {@code llmwb.engine.greedyOnRunner=false} turns it off: the A/B).
     */
    public LlmEngine greedyOnRunner(boolean on) {
        greedyOnRunner = on;
        return this;
    }

    public int steps() {
        return steps;
    }

    /**
     * Runs one step. Returns null when the scheduler had nothing to run now (e.g. a dynamic batch is still
     * waiting for its window).
     */
    public StepEvent step(boolean moreArrivals) {
        double t0 = now();
        Scheduler.Batch batch = scheduler.schedule(t0, moreArrivals);
        if (batch.isEmpty()) {
            return null;
        }
        runner.copyBlocks(batch.copies());
        Scheduler.Draft[] drafts = null;
        double draftS = 0;
        if (speculator != null) {
            speculator.drafter().copyBlocks(batch.copies());
            drafts = draft(batch);
            draftS = now() - t0;
        }
        double tv = now();
        List<SeqInput> in = new ArrayList<>(batch.work().size());
        List<StepEvent.Part> parts = new ArrayList<>(batch.work().size());
        for (int i = 0; i < batch.work().size(); i++) {
            Scheduler.Work w = batch.work().get(i);
            KvSeq kv = w.seq().kv();
            int[] tokens = kv.tokens(w.start(), w.start() + w.count());
            int extra = drafts == null || drafts[i] == null ? 0 : drafts[i].length();
            if (extra > 0) {
                tokens = java.util.Arrays.copyOf(tokens, tokens.length + extra);
                System.arraycopy(drafts[i].tokens(), 0, tokens, w.count(), extra);
            }
            in.add(new SeqInput(tokens, w.start(), kv.blockTable(), 1 + extra));
            parts.add(new StepEvent.Part(w.seq().id(), w.start(), w.count() + extra, w.decode()));
        }
        // a step of greedy sequences only, nobody reading the logits: the runner picks the tokens where the logits
        // are (on a GPU, only the ids come back); the same argmax as the sampler's
        boolean greedyStep = greedyOnRunner && drafts == null && logitsTap == null && batch.work().stream().allMatch(w -> w.seq().params().isGreedy());
        if (greedyStep) {
            int[] tokens = runner.runGreedy(in);
            double t1 = now();
            return finishStep(t0, t1, tv, batch, parts, scheduler.postprocessGreedy(batch, tokens, t1), null, draftS);
        }
        float[][] logits = runner.run(in);
        double t1 = now();
        if (logitsTap != null) {
            int row = 0;
            for (int i = 0; i < batch.work().size(); i++) {
                Scheduler.Work w = batch.work().get(i);
                if (w.start() + w.count() == w.seq().length()) {
                    logitsTap.accept(w.seq(), logits[row]);
                }
                row += in.get(i).logits();
            }
        }
        return finishStep(t0, t1, tv, batch, parts, scheduler.postprocess(batch, logits, drafts, t1), drafts, draftS);
    }

    private StepEvent finishStep(double t0, double t1, double tv, Scheduler.Batch batch, List<StepEvent.Part> parts, List<Sequence> done,
            Scheduler.Draft[] drafts, double draftS) {
        StepEvent.Spec spec = null;
        if (speculator != null) {
            List<Scheduler.Verified> vs = scheduler.verified();
            speculator.observe(vs, draftS, t1 - tv);
            done.forEach(speculator::forget);
            if (!vs.isEmpty()) {
                spec = new StepEvent.Spec(vs.stream().map(v -> v.seq().id()).toList(), vs.stream().mapToInt(Scheduler.Verified::drafted).toArray(),
                        vs.stream().mapToInt(Scheduler.Verified::accepted).toArray(), draftS, t1 - tv);
            }
        }
        KvCacheManager kv = scheduler.kv();
        List<KvSeq> live = new ArrayList<>();
        // the block map costs O(blocks) per step: only for callers that draw it, and only for pools small enough to send
        java.util.Map<Integer, int[]> tables = blockMaps && kv.totalBlocks() <= StepEvent.MAP_LIMIT ? new java.util.TreeMap<>() : null;
        for (Sequence s : scheduler.running()) {
            live.add(s.kv());
            if (tables != null) {
                int[] t = s.kv().blockTable();
                tables.put(s.id(), java.util.Arrays.copyOf(t, Math.min(t.length, (s.kv().length() + kv.blockSize() - 1) / kv.blockSize())));
            }
        }
        KvCacheManager.Usage u = kv.usage(live);
        long perToken = runner.kvBytesPerToken();
        long allocated = u.allocatedSlots() * perToken;
        long used = u.usedTokens() * perToken;
        peakAllocatedBytes = Math.max(peakAllocatedBytes, allocated);
        allocatedByteSeconds += allocated * (t1 - t0);
        usedByteSeconds += used * (t1 - t0);
        return new StepEvent(steps++, t0, t1 - t0, parts, done.stream().map(Sequence::id).toList(), batch.preempted().stream().map(Sequence::id).toList(),
                scheduler.waiting().size(), scheduler.running().size(),
                new StepEvent.Kv(kv.totalBlocks(), u.usedBlocks(), kv.cachedFreeBlocks(), allocated, used, tables == null ? null : kv.blockStates(live),
                        tables), spec);
    }

    /** Asks the drafter for the drafts of every work item that has slots reserved for them. */
    private Scheduler.Draft[] draft(Scheduler.Batch batch) {
        List<Sequence> seqs = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < batch.work().size(); i++) {
            if (batch.work().get(i).draftSlots() > 0) {
                seqs.add(batch.work().get(i).seq());
                idx.add(i);
            }
        }
        if (seqs.isEmpty()) {
            return null;
        }
        int[] ks = idx.stream().mapToInt(i -> batch.work().get(i).draftSlots()).toArray();
        Scheduler.Draft[] got = speculator.drafter().propose(seqs, ks);
        Scheduler.Draft[] out = new Scheduler.Draft[batch.work().size()];
        for (int j = 0; j < idx.size(); j++) {
            Scheduler.Draft d = got[j];
            if (d.length() > ks[j]) {
                throw new IllegalStateException(speculator.drafter().name() + " proposed " + d.length() + " drafts for " + ks[j] + " slots");
            }
            out[idx.get(j)] = d;
        }
        return out;
    }

    /**
     * Turns speculative decoding on (null: off). The engine owns it from here: draft slots are reserved by the
     * scheduler, drafts verified in the step's forward, and the speculator's figures kept.
     */
    public LlmEngine speculate(org.llmwb.engine.spec.Speculator s) {
        this.speculator = s;
        scheduler.speculate(s == null ? null : s::lookahead);
        return this;
    }

    public org.llmwb.engine.spec.Speculator speculator() {
        return speculator;
    }

    /**
     * Whether each {@link StepEvent} carries the KV block map and block tables (for the workbench's KV
     * view). Off by default: serving and benchmarks do not pay O(blocks) per step for it.
     */
    public LlmEngine recordBlockMaps(boolean on) {
        this.blockMaps = on;
        return this;
    }

    /** Sees the logits each sequence samples from, before sampling (comparisons between backends and setups). */
    public void logitsTap(java.util.function.BiConsumer<Sequence, float[]> tap) {
        this.logitsTap = tap;
    }

    public long peakAllocatedBytes() {
        return peakAllocatedBytes;
    }

    /** Time-weighted share of allocated KV bytes that held no token over the run (0 when nothing ran). */
    public double kvWasteFraction() {
        return allocatedByteSeconds == 0 ? 0 : 1 - usedByteSeconds / allocatedByteSeconds;
    }

    public Sequence abort(Sequence s) {
        scheduler.abort(s, now());
        return s;
    }
}
