package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.kv.ContiguousKvManager;
import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.SchedulerConfig.Batching;
import org.llmwb.engine.sched.SchedulerConfig.Order;
import org.llmwb.engine.sched.Sequence;

/**
 * The scheduler on its own: steps are planned, then completed with logits whose argmax is a known token
 * (the part a model runner would do), so each policy's batches can be checked exactly.
 */
class SchedulerTest {
    static final int VOCAB = 8;
    int nextId;

    Sequence seq(int promptLen, int maxTokens, double arrival, int priority) {
        int[] p = IntStream.range(0, promptLen).map(i -> (i * 7 + nextId) % VOCAB).toArray();
        return new Sequence(nextId++, p, SamplingParams.greedy(maxTokens), priority, arrival);
    }

    /** Completes a planned step: every sequence that reaches its end "samples" token 3. */
    static List<Sequence> finish(Scheduler s, Scheduler.Batch b, double now) {
        float[][] logits = new float[b.work().size()][VOCAB];
        for (float[] l : logits) {
            l[3] = 1;
        }
        return s.postprocess(b, logits, now);
    }

    static int runToEnd(Scheduler s, List<Scheduler.Batch> log) {
        int steps = 0;
        while (s.hasWork()) {
            Scheduler.Batch b = s.schedule(steps, false);
            log.add(b);
            finish(s, b, steps);
            assertTrue(++steps < 10_000, "scheduler made no progress");
        }
        return steps;
    }

    @Test
    void chunkedPrefillSharesStepsWithDecodesWithinTheBudget() {
        Scheduler s = new Scheduler(new BlockManager(64, 4), SchedulerConfig.continuous(8, 8), 1000);
        Sequence a = seq(3, 10, 0, 0);
        Sequence b = seq(3, 10, 0, 0);
        s.add(a);
        s.add(b);
        finish(s, s.schedule(0, true), 0); // both prompts in one step (6 tokens <= 8)
        Sequence longOne = seq(20, 2, 1, 0);
        s.add(longOne);
        List<Integer> chunks = new ArrayList<>();
        for (int step = 0; step < 4; step++) {
            Scheduler.Batch batch = s.schedule(1 + step, true);
            assertTrue(batch.tokens() <= 8, "step over budget: " + batch.tokens());
            assertEquals(2, batch.work().stream().filter(Scheduler.Work::decode).count(), "the decoders must run in every step");
            batch.work().stream().filter(w -> w.seq() == longOne).forEach(w -> chunks.add(w.count()));
            finish(s, batch, 1 + step);
        }
        assertEquals(List.of(6, 6, 6, 2), chunks); // 20 prompt tokens in chunks of the budget left after 2 decodes
        assertEquals(1, longOne.outputLength()); // its first token came with the last chunk
    }

    @Test
    void withoutChunkingALongPromptTakesAStepOfItsOwn() {
        Scheduler s = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.CONTINUOUS, Order.FCFS, false, 32, 8, 0), 1000);
        Sequence a = seq(3, 10, 0, 0);
        s.add(a);
        finish(s, s.schedule(0, true), 0);
        Sequence longOne = seq(20, 2, 1, 0);
        s.add(longOne);
        Scheduler.Batch b = s.schedule(1, true);
        assertEquals(1, b.work().size());
        assertEquals(20, b.work().get(0).count());
        assertFalse(b.work().get(0).decode());
        finish(s, b, 1);
        assertEquals(2, s.schedule(2, true).work().size()); // then both decode
        Sequence tooLong = seq(40, 2, 2, 0);
        assertThrows(IllegalArgumentException.class, () -> s.add(tooLong));
    }

    @Test
    void staticBatchingAdmitsNobodyUntilTheWholeBatchIsDone() {
        Scheduler s = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.STATIC, Order.FCFS, true, 64, 4, 0), 1000);
        Sequence shortOne = seq(2, 1, 0, 0);
        Sequence longOne = seq(2, 5, 0, 0);
        s.add(shortOne);
        s.add(longOne);
        finish(s, s.schedule(0, true), 0);
        assertEquals(Sequence.Status.FINISHED, shortOne.status());
        Sequence late = seq(2, 1, 1, 0);
        s.add(late);
        int step = 1;
        while (longOne.status() != Sequence.Status.FINISHED) {
            Scheduler.Batch b = s.schedule(step, true);
            assertTrue(b.work().stream().noneMatch(w -> w.seq() == late), "a static batch took a newcomer");
            finish(s, b, step++);
        }
        assertEquals(5, longOne.outputLength());
        assertTrue(s.schedule(step, true).work().stream().anyMatch(w -> w.seq() == late));
    }

    @Test
    void dynamicBatchingWaitsForAFullBatchOrItsWindow() {
        Scheduler s = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.DYNAMIC, Order.FCFS, true, 64, 3, 0.5), 1000);
        s.add(seq(2, 2, 0.0, 0));
        s.add(seq(2, 2, 0.1, 0));
        assertTrue(s.schedule(0.2, true).isEmpty()); // 2 of 3, window not over
        assertEquals(2, s.schedule(0.5, true).work().size()); // the oldest has waited 0.5 s
        Scheduler t = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.DYNAMIC, Order.FCFS, true, 64, 2, 10), 1000);
        t.add(seq(2, 2, 0.0, 0));
        t.add(seq(2, 2, 0.0, 0));
        assertEquals(2, t.schedule(0.0, true).work().size()); // full at once
        Scheduler u = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.DYNAMIC, Order.FCFS, true, 64, 4, 10), 1000);
        u.add(seq(2, 2, 0.0, 0));
        assertEquals(1, u.schedule(0.0, false).work().size()); // nothing more will come
    }

    @Test
    void ordersPickShortestOrHighestPriorityFirst() {
        Scheduler s = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.CONTINUOUS, Order.SHORTEST, false, 64, 1, 0), 1000);
        Sequence big = seq(12, 1, 0, 0);
        Sequence small = seq(3, 1, 1, 0);
        s.add(big);
        s.add(small);
        assertEquals(small, s.schedule(2, true).work().get(0).seq());
        Scheduler p = new Scheduler(new BlockManager(64, 4), new SchedulerConfig(Batching.CONTINUOUS, Order.PRIORITY, false, 64, 1, 0), 1000);
        Sequence low = seq(3, 1, 0, 5);
        Sequence high = seq(3, 1, 1, 0);
        p.add(low);
        p.add(high);
        assertEquals(high, p.schedule(2, true).work().get(0).seq());
    }

    @Test
    void runningOutOfBlocksPreemptsTheNewestAndRecomputesIt() {
        // 5 blocks of 4: two sequences of 4-token prompts growing to 12 tokens (3 blocks each) cannot both fit
        Scheduler s = new Scheduler(new BlockManager(5, 4, false), SchedulerConfig.continuous(64, 8), 1000);
        Sequence a = seq(4, 8, 0, 0);
        Sequence b = seq(4, 8, 0.5, 0);
        s.add(a);
        s.add(b);
        List<Scheduler.Batch> log = new ArrayList<>();
        runToEnd(s, log);
        assertEquals(8, a.outputLength());
        assertEquals(8, b.outputLength());
        assertEquals(0, a.preemptions());
        assertTrue(b.preemptions() >= 1, "the newer sequence should have been preempted");
        // after preemption b is prefilled again over its prompt and the tokens it had generated
        assertTrue(log.stream().flatMap(x -> x.work().stream()).anyMatch(w -> w.seq() == b && !w.decode() && w.count() > 4));
        assertEquals(5, s.kv().freeBlocks());
    }

    @Test
    void stopTokensEndASequenceUnlessIgnored() {
        Scheduler s = new Scheduler(new BlockManager(16, 4), SchedulerConfig.continuous(64, 8), 1000);
        Sequence stops = new Sequence(0, new int[] {1, 2}, SamplingParams.greedy(10).withStop(Set.of(3), false), 0, 0);
        Sequence ignores = new Sequence(1, new int[] {1, 2}, SamplingParams.greedy(10).withStop(Set.of(3), true), 0, 0);
        s.add(stops);
        s.add(ignores);
        runToEnd(s, new ArrayList<>());
        assertEquals(1, stops.outputLength());
        assertEquals(Sequence.FinishReason.STOP, stops.finishReason());
        assertEquals(10, ignores.outputLength());
        assertEquals(Sequence.FinishReason.LENGTH, ignores.finishReason());
    }

    @Test
    void everyPolicyAndKvManagerFinishesEveryRequestAndReturnsEveryBlock() {
        for (Batching batching : Batching.values()) {
            for (boolean chunked : new boolean[] {true, false}) {
                for (int kvKind = 0; kvKind < 3; kvKind++) {
                    KvCacheManager kv = switch (kvKind) {
                        case 0 -> new BlockManager(40, 4, true);
                        case 1 -> new BlockManager(40, 4, false);
                        default -> new ContiguousKvManager(40, 4, 40);
                    };
                    Scheduler s = new Scheduler(kv, new SchedulerConfig(batching, Order.FCFS, chunked, 32, 4, 0), 1000);
                    List<Sequence> all = new ArrayList<>();
                    for (int i = 0; i < 12; i++) {
                        Sequence q = seq(1 + (i * 5) % 23, 1 + (i * 3) % 11, i * 0.1, 0);
                        all.add(q);
                        s.add(q);
                    }
                    List<Scheduler.Batch> log = new ArrayList<>();
                    runToEnd(s, log);
                    String what = batching + (chunked ? " chunked " : " ") + kv.name();
                    for (Sequence q : all) {
                        assertEquals(q.params().maxTokens(), q.outputLength(), what + " " + q);
                    }
                    for (Scheduler.Batch b : log) {
                        assertTrue(b.tokens() <= 32 || !chunked, what + ": a step of " + b.tokens() + " tokens");
                        assertTrue(b.work().stream().map(Scheduler.Work::seq).distinct().count() <= 4, what + ": more than maxSeqs in a step");
                    }
                    assertEquals(40, kv.freeBlocks(), what);
                }
            }
        }
    }
}
