package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.disagg.DisaggRun;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;

/**
 * Disaggregated prefill/decode on the CPU, two threads: the K/V that crosses from the prefill worker's pool to
 * the decode worker's must be exactly what the decode needs, so greedy outputs equal aggregated serving's token
 * for token; every transfer is counted in bytes.
 */
class DisaggTest {
    @TempDir
    static Path dir;
    static LlamaCpu model;
    static final int BS = 4;

    @BeforeAll
    static void load() throws Exception {
        try (Checkpoint ck = Checkpoint.open(CheckpointGenerator.generate(dir.resolve("m"), CheckpointGenerator.Shape.tiny(), 11, Safetensors.Dtype.F32, 1))) {
            model = new LlamaCpu(ck);
        }
    }

    static List<Request> requests() {
        List<Request> r = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = 6 + 9 * (i % 4); // 6..33 tokens: partial and full last blocks
            int[] p = new int[n];
            for (int j = 0; j < n; j++) {
                p[j] = (17 * i + 5 * j + j * j) % 300;
            }
            r.add(new Request(i, 0.004 * i, p, 1 + 3 * (i % 5), 0));
        }
        return r;
    }

    static LlmEngine engine(int blocks, boolean prefixCaching) {
        return new LlmEngine(new CpuModelRunner(model, blocks, BS), new BlockManager(blocks, BS, prefixCaching), SchedulerConfig.continuous(128, 4));
    }

    /** Records the logits each request decodes from, keyed by request and output position. */
    static LlmEngine tapped(LlmEngine e, java.util.Map<String, float[]> into) {
        e.logitsTap((s, l) -> into.put(s.tag + ":" + s.outputLength(), l.clone()));
        return e;
    }

    static double maxDiff(java.util.Map<String, float[]> a, java.util.Map<String, float[]> b) {
        double m = 0;
        for (var e : b.entrySet()) {
            float[] x = a.get(e.getKey());
            for (int i = 0; i < x.length; i++) {
                m = Math.max(m, Math.abs(x[i] - e.getValue()[i]));
            }
        }
        return m;
    }

    @Test
    void disaggregatedOutputsEqualAggregatedOnes() {
        SamplingParams g = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        java.util.Map<String, float[]> la = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.Map<String, float[]> ld = new java.util.concurrent.ConcurrentHashMap<>();
        DisaggRun.Result agg = DisaggRun.aggregated(List.of(tapped(engine(96, true), la)), requests(), g, 0, 0);
        DisaggRun.Result dis = DisaggRun.disaggregated(List.of(engine(40, true)), List.of(tapped(engine(64, false), ld)), requests(), g, 2, 0, 0);
        // the decode worker's logits come from K/V it did not compute: they must match the aggregated run's
        // (a random-weight model's argmax hardly depends on context, so tokens alone would not show a bad transfer)
        assertTrue(ld.size() > 10, "decode steps were tapped: " + ld.size());
        double diff = maxDiff(la, ld);
        assertTrue(diff < 2e-4, "logits after the transfer match: max |diff| " + diff);
        assertEquals(8, agg.requests().size());
        assertEquals(8, dis.requests().size());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(agg.outputs().get(i), dis.outputs().get(i), "request " + i);
            assertEquals(requests().get(i).maxTokens(), dis.outputs().get(i).length);
        }
        // requests of one output token finish on the prefill worker; the others moved their prompt's K/V
        long moved = requests().stream().filter(r -> r.maxTokens() > 1).count();
        assertEquals(moved, dis.transfers().size());
        long perBlock = new CpuModelRunner(model, 1, BS).kvBlockBytes();
        for (DisaggRun.Transfer t : dis.transfers()) {
            int prompt = requests().get(Integer.parseInt(t.request())).prompt().length;
            assertEquals((prompt + BS - 1) / BS, t.blocks());
            assertEquals(t.blocks() * perBlock, t.bytes());
            assertEquals("host", t.path());
        }
        for (var r : dis.requests()) {
            assertTrue(r.ttft() > 0);
        }
    }

    @Test
    void twoAggregatedWorkersShareTheLoad() {
        SamplingParams g = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        DisaggRun.Result one = DisaggRun.aggregated(List.of(engine(96, true)), requests(), g, 0, 0);
        DisaggRun.Result two = DisaggRun.aggregated(List.of(engine(96, true), engine(96, true)), requests(), g, 0, 0);
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(one.outputs().get(i), two.outputs().get(i));
        }
        assertTrue(two.perWorker().stream().allMatch(w -> ((Integer) w.get("steps")) > 0), "both workers ran: " + two.perWorker());
    }

    @Test
    void aRequestTheDecodePoolCanNeverHoldIsRefusedUpFront() {
        SamplingParams g = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DisaggRun.disaggregated(List.of(engine(40, true)), List.of(engine(4, false)), requests(), g, 2, 0, 0));
        assertTrue(e.getMessage().contains("decode worker's pool has 4"), e.getMessage());
    }

    @Test
    void cancellingStopsEveryWorker() {
        SamplingParams g = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        List<Request> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            many.add(new Request(i, 0.05 * i, requests().get(i % 8).prompt(), 30, 0));
        }
        long t0 = System.nanoTime();
        DisaggRun.Result r = DisaggRun.disaggregated(List.of(engine(64, true)), List.of(engine(96, false)), many, g, 2, 0, 0,
                () -> System.nanoTime() - t0 > 300_000_000L);
        assertTrue(r.cancelled());
        assertTrue(r.requests().size() < 40, "stopped before the trace (2 s of arrivals) ended: " + r.requests().size());
        assertTrue((System.nanoTime() - t0) / 1e9 < 1.5, "returned promptly");
    }
}
