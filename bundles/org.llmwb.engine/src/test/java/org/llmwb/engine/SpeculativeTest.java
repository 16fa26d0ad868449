package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Scheduler;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;
import org.llmwb.engine.sched.SpecVerifierAccess;
import org.llmwb.engine.spec.ModelDrafter;
import org.llmwb.engine.spec.NgramDrafter;
import org.llmwb.engine.spec.SpecConfig;
import org.llmwb.engine.spec.Speculator;

/**
 * Speculative decoding on the CPU: greedy speculation must reproduce plain greedy decoding token for token
 * (every drafter, continuous batching with prefills and plain decodes in the same steps, a pool small enough
 * to preempt), and the acceptance rule must preserve the target distribution (a chi-square test whose power is
 * computed and asserted).
 */
class SpeculativeTest {
    @TempDir
    static Path dir;
    static LlamaCpu target;
    static LlamaCpu draft;
    static final int BS = 4;
    static int lastPreemptions;
    static java.util.Map<String, Object> lastSummary;
    /** Logits each run sampled its plain tokens from (spec: the first row of each verify), by sequence and output position. */
    static java.util.Map<String, float[]> lastLogits;

    /** The verify step's K/V and logits must be the plain decode's: compared where both runs sampled at the same position. */
    static void assertSameLogits(java.util.Map<String, float[]> plain, java.util.Map<String, float[]> spec) {
        int common = 0;
        double m = 0;
        for (var e : spec.entrySet()) {
            float[] p = plain.get(e.getKey());
            if (p == null) {
                continue;
            }
            common++;
            for (int i = 0; i < p.length; i++) {
                m = Math.max(m, Math.abs(p[i] - e.getValue()[i]));
            }
        }
        assertTrue(common >= 20, "positions compared: " + common);
        assertTrue(m < 2e-4, "logits agree: max |diff| " + m);
    }

    @BeforeAll
    static void load() throws Exception {
        CheckpointGenerator.Shape four = new CheckpointGenerator.Shape(128, 320, 4, 2, 1, 64, 200, true, 2048, 10000);
        try (Checkpoint ck = Checkpoint.open(CheckpointGenerator.generate(dir.resolve("t"), four, 7, Safetensors.Dtype.F32, 1))) {
            target = new LlamaCpu(ck);
        }
        try (Checkpoint ck = Checkpoint.open(CheckpointGenerator.generate(dir.resolve("d"), CheckpointGenerator.Shape.tiny(), 8, Safetensors.Dtype.F32, 1))) {
            draft = new LlamaCpu(ck);
        }
    }

    /** Prompts that repeat themselves (n-gram lookup finds them) and ones that do not, with a shared prefix. */
    static int[][] prompts() {
        int[] phrase = {12, 40, 7, 99, 3, 150, 61};
        int[][] p = new int[6][];
        for (int i = 0; i < p.length; i++) {
            int n = 10 + 5 * i;
            p[i] = new int[n];
            for (int j = 0; j < n; j++) {
                p[i][j] = i % 2 == 0 ? phrase[j % phrase.length] : (37 * i + 11 * j * j) % 250;
            }
        }
        return p;
    }

    /** Runs the prompts with arrivals two steps apart (so prefills join running decodes) and returns each output. */
    static List<int[]> run(Speculator spec, int blocks, SamplingParams base) {
        CpuModelRunner runner = new CpuModelRunner(target, blocks, BS);
        return run(runner, spec == null ? null : s -> spec, blocks, base);
    }

    static List<int[]> run(CpuModelRunner runner, java.util.function.Function<CpuModelRunner, Speculator> spec, int blocks, SamplingParams base) {
        double[] clock = {0};
        LlmEngine e = new LlmEngine(runner, new BlockManager(blocks, BS), SchedulerConfig.continuous(64, 4), 0, () -> clock[0]);
        Speculator sp = spec == null ? null : spec.apply(runner);
        lastLogits = new java.util.HashMap<>();
        e.logitsTap((s, l) -> lastLogits.put(s.id() + ":" + s.outputLength(), l.clone()));
        if (sp != null) {
            e.speculate(sp);
        }
        int[][] prompts = prompts();
        List<Sequence> seqs = new ArrayList<>();
        int next = 0;
        int step = 0;
        while (next < prompts.length || e.hasWork()) {
            if (next < prompts.length && step % 2 == 0) {
                seqs.add(e.add(prompts[next], base.withSeed(100 + next), 0, clock[0]));
                next++;
            }
            e.step(next < prompts.length);
            clock[0] += 0.01;
            step++;
        }
        List<int[]> out = new ArrayList<>();
        lastPreemptions = 0;
        for (Sequence s : seqs) {
            out.add(s.output());
            lastPreemptions += s.preemptions();
        }
        lastSummary = sp == null ? null : sp.summary();
        return out;
    }

    static void assertSame(List<int[]> plain, List<int[]> spec, String what) {
        for (int i = 0; i < plain.size(); i++) {
            assertArrayEquals(plain.get(i), spec.get(i), what + ": request " + i);
        }
    }

    @Test
    void greedyNgramReproducesPlainDecoding() {
        SamplingParams g = SamplingParams.greedy(24);
        List<int[]> plain = run(null, 128, g);
        var plainLogits = lastLogits;
        Speculator sp = new Speculator(SpecConfig.ngram(4), new NgramDrafter(1, 3));
        List<int[]> spec = run(sp, 128, g);
        assertSame(plain, spec, "ngram");
        assertSameLogits(plainLogits, lastLogits);
        assertTrue(sp.summary().get("verifies") instanceof Long v && v > 0, "the n-gram drafter proposed something");
    }

    @Test
    void greedyLayerSkipAndAdaptiveKReproducePlainDecoding() {
        SamplingParams g = SamplingParams.greedy(20);
        List<int[]> plain = run(null, 128, g);
        var plainLogits = lastLogits;
        Speculator[] kept = new Speculator[1];
        List<int[]> spec = run(new CpuModelRunner(target, 128, BS), r -> kept[0] = new Speculator(
                new SpecConfig(SpecConfig.Method.LAYER_SKIP, 3, true, 1, 3, 2, null), ModelDrafter.layerSkip(r, 2)), 128, g);
        assertSame(plain, spec, "layer-skip");
        assertSameLogits(plainLogits, lastLogits);
        assertTrue(kept[0].acceptanceRate() > 0, "an early exit at half depth agrees with the full model sometimes");
    }

    @Test
    void greedyDraftModelReproducesPlainDecodingUnderPreemption() {
        SamplingParams g = SamplingParams.greedy(24);
        int blocks = 24; // 96 slots for 6 sequences of up to 59 tokens: preemption and recompute happen
        List<int[]> plain = run(null, blocks, g);
        var plainLogits = lastLogits;
        List<int[]> spec = run(new CpuModelRunner(target, blocks, BS), r -> new Speculator(
                new SpecConfig(SpecConfig.Method.DRAFT_MODEL, 4, false, 1, 3, 0, "tiny"), ModelDrafter.draftModel(new CpuModelRunner(draft, blocks, BS), r)),
                blocks, g);
        assertTrue(lastPreemptions > 0, "the small pool preempted someone");
        assertTrue((Long) lastSummary.get("verifies") > 0);
        assertSame(plain, spec, "draft model");
        assertSameLogits(plainLogits, lastLogits);
    }

    @Test
    void blocksComeBackAfterSpeculation() {
        CpuModelRunner runner = new CpuModelRunner(target, 64, BS);
        BlockManager kv = new BlockManager(64, BS);
        LlmEngine e = new LlmEngine(runner, kv, SchedulerConfig.continuous(64, 4), 0, () -> 0);
        e.speculate(new Speculator(SpecConfig.ngram(5), new NgramDrafter(1, 3)));
        for (int[] p : prompts()) {
            e.add(p, SamplingParams.greedy(12), 0, 0);
        }
        int maxUsed = 0;
        while (e.hasWork()) {
            e.step(false);
            maxUsed = Math.max(maxUsed, 64 - kv.freeBlocks());
        }
        assertEquals(64, kv.freeBlocks(), "every block is free again");
        assertTrue(maxUsed > 0);
    }

    @Test
    void stopTokenInsideAcceptedDraftsEndsTheSequenceThere() {
        SamplingParams g = SamplingParams.greedy(30);
        List<int[]> plain = run(null, 128, g);
        int stop = plain.get(0)[5]; // a token request 0 emits as its sixth
        SamplingParams withStop = g.withStop(Set.of(stop), false);
        List<int[]> a = run(null, 128, withStop);
        List<int[]> b = run(new Speculator(SpecConfig.ngram(4), new NgramDrafter(1, 3)), 128, withStop);
        assertSame(a, b, "stop token");
        assertEquals(stop, a.get(0)[a.get(0).length - 1]);
    }

    @Test
    void sampledSpeculationRunsAndRespectsLimits() {
        SamplingParams t = new SamplingParams(0.8, 0, 0.95, 1, 16, Set.of(), true);
        List<int[]> out = run(new CpuModelRunner(target, 128, BS), r -> new Speculator(new SpecConfig(SpecConfig.Method.LAYER_SKIP, 4, false, 1, 3, 2, null),
                ModelDrafter.layerSkip(r, 2)), 128, t);
        for (int[] o : out) {
            assertEquals(16, o.length, "max tokens is exact even when a verify emits several");
            for (int x : o) {
                assertTrue(x >= 0 && x < target.config().vocabSize());
            }
        }
    }

    @Test
    void ngramLookupTakesTheLongestMostRecentMatch() {
        int[] t = {1, 2, 3, 9, 1, 2, 3, 4, 5, 7, 2, 3};
        assertArrayEquals(new int[] {4, 5, 7}, SpecVerifierAccess.lookup(t, 3, 1, 3));
        assertArrayEquals(new int[] {4}, SpecVerifierAccess.lookup(t, 1, 1, 3));
        assertArrayEquals(new int[0], SpecVerifierAccess.lookup(new int[] {1, 2, 3}, 3, 1, 3));
    }

    /**
     * Rejection sampling preserves the target distribution. Vocabulary of 6; target p and draft q differ a
     * lot. N = 60,000 seeded verify calls with one draft x ~ q; the emitted first token is chi-square tested
     * against p (5 degrees of freedom, α = 0.001, critical value 20.515). Power: against the classic bug of
     * resampling from p instead of the residual on rejection, the noncentrality is N·Σ(r−p)²/p for the
     * buggy law r; the test computes it, checks its power exceeds 0.999 by simulating the noncentral
     * chi-square, and also runs the buggy rule to see it rejected.
     */
    @Test
    void rejectionSamplingPreservesTheTargetDistribution() {
        float[] pl = {2.0f, 0.5f, 1.2f, -1.0f, 0.0f, 1.6f};
        float[] ql = {-0.5f, 2.2f, 0.3f, 1.0f, 1.5f, -1.0f};
        SamplingParams sp = new SamplingParams(1.0, 0, 1.0, 3, 10, Set.of(), true);
        double[] p = org.llmwb.engine.sched.Sampler.probabilities(pl, sp);
        double[] q = org.llmwb.engine.sched.Sampler.probabilities(ql, sp);
        int n = 60_000;
        long[] counts = new long[6];
        long[] buggy = new long[6];
        SplittableRandom rng = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            int x = SpecVerifierAccess.draw(q, rng);
            Scheduler.Draft d = new Scheduler.Draft(new int[] {x}, new double[][] {q});
            int[] out = SpecVerifierAccess.verify(new float[][] {pl, pl}, d, sp, rng);
            counts[out[0]]++;
            // the buggy rule: on rejection, draw from p itself
            int y = SpecVerifierAccess.draw(q, rng);
            buggy[rng.nextDouble() < Math.min(1, p[y] / q[y]) ? y : SpecVerifierAccess.draw(p, rng)]++;
        }
        double crit = 20.515;
        double chi = chiSquare(counts, p, n);
        assertTrue(chi < crit, "emitted tokens follow p: chi-square " + chi + " < " + crit);
        // the buggy law r(x) = q(x)·min(1, p/q) + (1 − β)·p(x), β = Σ min(p, q)
        double beta = 0;
        for (int i = 0; i < 6; i++) {
            beta += Math.min(p[i], q[i]);
        }
        double lambda = 0;
        for (int i = 0; i < 6; i++) {
            double r = Math.min(p[i], q[i]) + (1 - beta) * p[i];
            lambda += n * (r - p[i]) * (r - p[i]) / p[i];
        }
        double power = noncentralTail(5, lambda, crit, 20_000, new SplittableRandom(9));
        assertTrue(power > 0.999, "the test can see the buggy rule: noncentrality " + lambda + ", power " + power);
        assertTrue(chiSquare(buggy, p, n) > crit, "and it does reject the buggy rule");
    }

    static double chiSquare(long[] counts, double[] p, int n) {
        double chi = 0;
        for (int i = 0; i < p.length; i++) {
            double e = n * p[i];
            chi += (counts[i] - e) * (counts[i] - e) / e;
        }
        return chi;
    }

    /** P(X > crit) for X ~ noncentral chi-square(df, λ), by simulation. */
    static double noncentralTail(int df, double lambda, double crit, int draws, SplittableRandom rng) {
        double mu = Math.sqrt(lambda);
        int above = 0;
        for (int i = 0; i < draws; i++) {
            double x = 0;
            for (int j = 0; j < df; j++) {
                double z = gaussian(rng) + (j == 0 ? mu : 0);
                x += z * z;
            }
            if (x > crit) {
                above++;
            }
        }
        return (double) above / draws;
    }

    static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
