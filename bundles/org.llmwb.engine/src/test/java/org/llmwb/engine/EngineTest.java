package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.kv.ContiguousKvManager;
import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.run.EngineRun;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.SchedulerConfig.Batching;
import org.llmwb.engine.sched.SchedulerConfig.Order;
import org.llmwb.engine.sched.Sequence;

/** The whole engine on the tiny CPU model: outputs must not depend on how requests were batched, paged or cached. */
class EngineTest {
    @TempDir
    static Path dir;
    static LlamaCpu model;
    static final int BLOCKS = 64;
    static final int BS = 4;

    @BeforeAll
    static void load() throws Exception {
        try (Checkpoint ck = Checkpoint.open(CheckpointGenerator.generate(dir.resolve("m"), CheckpointGenerator.Shape.tiny(), 5, Safetensors.Dtype.F32, 1))) {
            model = new LlamaCpu(ck);
        }
    }

    static int[][] prompts() {
        int[] shared = {5, 9, 17, 33, 2, 41, 7, 8, 100, 11}; // 10 tokens: two full blocks of 4 are shareable
        int[][] p = new int[6][];
        for (int i = 0; i < p.length; i++) {
            int own = 1 + (i * 7) % 13;
            p[i] = new int[shared.length + own];
            System.arraycopy(shared, 0, p[i], 0, shared.length);
            for (int j = 0; j < own; j++) {
                p[i][shared.length + j] = (31 * i + 17 * j) % 200;
            }
        }
        return p;
    }

    /** Logits each request sampled from, in order: [request][token][vocab]. */
    static List<List<float[]>> logits;

    static List<int[]> generate(KvCacheManager kv, SchedulerConfig cfg, int[][] prompts, int maxTokens) {
        LlmEngine e = new LlmEngine(new CpuModelRunner(model, BLOCKS, BS), kv, cfg);
        logits = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            logits.add(new ArrayList<>());
        }
        e.logitsTap((s, l) -> logits.get(s.id()).add(l.clone()));
        List<Sequence> seqs = new ArrayList<>();
        for (int[] p : prompts) {
            seqs.add(e.add(p, SamplingParams.greedy(maxTokens), 0, 0));
        }
        int steps = 0;
        while (e.hasWork()) {
            e.step(false);
            assertTrue(++steps < 1000);
        }
        return seqs.stream().map(Sequence::output).toList();
    }

    @Test
    void outputsAreTheSameHoweverRequestsAreBatchedPagedOrCached() {
        int[][] prompts = prompts();
        int max = 9;
        // reference: each prompt alone, whole prefill, then decode
        List<int[]> solo = new ArrayList<>();
        List<List<float[]>> soloLogits = new ArrayList<>();
        for (int[] p : prompts) {
            solo.add(generate(new BlockManager(BLOCKS, BS, false), new SchedulerConfig(Batching.CONTINUOUS, Order.FCFS, false, 64, 1, 0), new int[][] {p}, max)
                    .get(0));
            soloLogits.add(logits.get(0));
        }
        // random weights make the greedy text nearly a function of the last token, so tokens alone would not show
        // a broken attention: the logits must match too, and they differ between contexts by far more than the tolerance
        double tol = 2e-5;
        double contextEffect = maxDiff(soloLogits.get(1).get(max - 1), soloLogits.get(2).get(max - 1));
        assertTrue(contextEffect > 100 * tol, "contexts barely change the logits: " + contextEffect);
        record Setup(String name, KvCacheManager kv, SchedulerConfig cfg) {
        }
        List<Setup> setups = List.of(
                new Setup("continuous, chunks of 5, prefix cache", new BlockManager(BLOCKS, BS, true), SchedulerConfig.continuous(5, 8)),
                new Setup("continuous, unchunked", new BlockManager(BLOCKS, BS, false), new SchedulerConfig(Batching.CONTINUOUS, Order.FCFS, false, 64, 8, 0)),
                new Setup("static batch of 3", new BlockManager(BLOCKS, BS, true), new SchedulerConfig(Batching.STATIC, Order.SHORTEST, true, 16, 3, 0)),
                new Setup("contiguous reservations", new ContiguousKvManager(BLOCKS, BS, 32), SchedulerConfig.continuous(64, 8)),
                // 14 blocks for 6 sequences of up to 32 tokens: preemption and recompute must happen
                new Setup("tight pool (preemption)", new BlockManager(14, BS, true), SchedulerConfig.continuous(64, 8)));
        for (Setup s : setups) {
            List<int[]> got = generate(s.kv(), s.cfg(), prompts, max);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(solo.get(i), got.get(i), s.name() + ": request " + i);
                for (int t = 0; t < max; t++) {
                    double d = maxDiff(soloLogits.get(i).get(t), logits.get(i).get(t));
                    assertTrue(d < tol, s.name() + ": request " + i + " token " + t + " logits differ by " + d);
                }
            }
            assertEquals(s.kv().totalBlocks(), s.kv().freeBlocks(), s.name() + ": blocks leaked");
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void aWorkloadRunReportsLatenciesThroughputAndKvUse() {
        List<Request> reqs = Workload.generate(new Workload.Spec("poisson", 10, 50, 1, 12, "uniform", 6, "uniform", 8, 1, 4, 200));
        List<StepEvent> events = new ArrayList<>();
        EngineRun.Listener l = new EngineRun.Listener() {
            @Override
            public void step(StepEvent e) {
                events.add(e);
            }
        };
        LlmEngine paged = new LlmEngine(new CpuModelRunner(model, BLOCKS, BS), new BlockManager(BLOCKS, BS, true), SchedulerConfig.continuous(32, 8))
                .recordBlockMaps(true);
        EngineRun.Result r = EngineRun.run(paged, reqs, SamplingParams.greedy(1).withStop(java.util.Set.of(), true), 0.5, 0.2, l, () -> false, 1000);
        assertEquals(10, r.requests().size());
        for (int i = 0; i < 10; i++) {
            var m = r.requests().get(i);
            assertEquals(reqs.get(i).maxTokens(), m.outputTokens());
            assertEquals(m.outputTokens() - 1, m.itl().length);
            assertTrue(m.ttft() > 0 && m.latency() >= m.ttft());
        }
        assertEquals(r.steps(), events.size());
        assertTrue(r.metrics().outputTokensPerS() > 0);
        assertTrue(r.prefixHitRate() > 0, "the shared 8-token prefix should hit");
        assertTrue(events.stream().allMatch(e -> e.kv().usedBlocks() <= BLOCKS && e.parts().size() <= 8));
        // the block map agrees with the counts, shows the shared prefix, and every table points at held blocks
        for (StepEvent e : events) {
            int[] map = e.kv().blocks();
            assertEquals(BLOCKS, map.length);
            assertEquals(e.kv().usedBlocks(), (int) java.util.Arrays.stream(map).filter(v -> v > 0).count(), "step " + e.index());
            assertEquals(e.kv().cachedFreeBlocks(), (int) java.util.Arrays.stream(map).filter(v -> v == KvCacheManager.CACHED_FREE).count());
            assertEquals(e.running(), e.kv().tables().size());
            e.kv().tables().values().forEach(t -> java.util.Arrays.stream(t).forEach(b -> assertTrue(map[b] >= 1, "table block " + b + " is not held")));
        }
        assertTrue(events.stream().anyMatch(e -> java.util.Arrays.stream(e.kv().blocks()).anyMatch(v -> v >= 2)), "no shared prefix block seen");
        assertTrue(events.get(events.size() - 1).toJson().get("kv").get("blocks").size() == BLOCKS);
        LlmEngine contiguous = new LlmEngine(new CpuModelRunner(model, BLOCKS, BS), new ContiguousKvManager(BLOCKS, BS, 64), SchedulerConfig.continuous(32, 8))
                .recordBlockMaps(true);
        List<StepEvent> cEvents = new ArrayList<>();
        EngineRun.Result c = EngineRun.run(contiguous, reqs, SamplingParams.greedy(1).withStop(java.util.Set.of(), true), 0, 0, new EngineRun.Listener() {
            @Override
            public void step(StepEvent e) {
                cEvents.add(e);
            }
        }, () -> false, 0);
        assertTrue(cEvents.stream().anyMatch(e -> java.util.Arrays.stream(e.kv().blocks()).anyMatch(v -> v == KvCacheManager.RESERVED_EMPTY)),
                "contiguous reservations show reserved, empty blocks");
        assertTrue(c.kvWasteFraction() > 0.5, "contiguous waste " + c.kvWasteFraction());
        assertTrue(r.kvWasteFraction() < c.kvWasteFraction(), r.kvWasteFraction() + " vs " + c.kvWasteFraction());
        assertFalse(c.cancelled());
    }
}
