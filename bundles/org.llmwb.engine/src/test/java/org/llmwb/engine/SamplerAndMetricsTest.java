package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;
import org.llmwb.engine.metrics.Stats;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.Sampler;
import org.llmwb.engine.sched.SamplingParams;

class SamplerAndMetricsTest {
    static final float[] LOGITS = {2.0f, 1.0f, 0.5f, -1.0f, 3.0f, 0.0f};

    static SamplingParams p(double t, int k, double topP) {
        return new SamplingParams(t, k, topP, 0, 10, Set.of(), false);
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        assertEquals(4, Sampler.sample(LOGITS, SamplingParams.greedy(1), new SplittableRandom(1)));
        assertEquals(1, Sampler.argmax(new float[] {0, 5, 5, 1}));
        assertEquals(4, Sampler.sample(LOGITS, p(1.0, 1, 1.0), new SplittableRandom(1))); // top-k 1 is greedy
    }

    @Test
    void topKAndTopPCutTheTailAndRenormalise() {
        double[] k2 = Sampler.probabilities(LOGITS, p(1.0, 2, 1.0));
        assertEquals(1.0, k2[0] + k2[4], 1e-12);
        assertEquals(Math.exp(3) / (Math.exp(3) + Math.exp(2)), k2[4], 1e-12);
        // full softmax: p4 = .63, p0 = .23, p1 = .086 ... top-p 0.8 keeps {4, 0} (0.86 >= 0.8)
        double[] tp = Sampler.probabilities(LOGITS, p(1.0, 0, 0.8));
        assertEquals(0, tp[1]);
        assertTrue(tp[4] > 0 && tp[0] > 0);
        assertEquals(1.0, tp[4] + tp[0], 1e-12);
        double[] hot = Sampler.probabilities(LOGITS, p(100.0, 0, 1.0));
        assertTrue(hot[3] > 0.15, "a high temperature flattens the distribution");
    }

    @Test
    void samplingIsSeededAndFollowsItsDistribution() {
        SamplingParams sp = p(0.7, 0, 1.0);
        double[] want = Sampler.probabilities(LOGITS, sp);
        int n = 200_000;
        int[] count = new int[LOGITS.length];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            count[Sampler.sample(LOGITS, sp, r)]++;
        }
        // chi-square over 6 categories (5 degrees of freedom): the 0.999 quantile is 20.5
        double chi = 0;
        for (int i = 0; i < want.length; i++) {
            double e = want[i] * n;
            chi += (count[i] - e) * (count[i] - e) / e;
        }
        assertTrue(chi < 20.5, "chi-square " + chi);
        int[] a = new int[50];
        int[] b = new int[50];
        SplittableRandom ra = new SplittableRandom(7);
        SplittableRandom rb = new SplittableRandom(7);
        for (int i = 0; i < 50; i++) {
            a[i] = Sampler.sample(LOGITS, sp, ra);
            b[i] = Sampler.sample(LOGITS, sp, rb);
        }
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertThrows(IllegalArgumentException.class, () -> p(-1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> p(1, 0, 0));
    }

    @Test
    void statsInterpolatePercentilesLikeNumpy() {
        Stats s = Stats.of(new double[] {1, 2, 3, 4, 10});
        assertEquals(4.0, s.avg(), 1e-12);
        assertEquals(3.0, s.p50(), 1e-12);
        assertEquals(4.0, s.p75(), 1e-12);
        assertEquals(7.6, s.p90(), 1e-12); // numpy.percentile([1,2,3,4,10], 90)
        assertEquals(9.76, s.p99(), 1e-12);
        assertEquals(Math.sqrt(10), s.std(), 1e-12);
        assertEquals(0, Stats.of(new double[] {Double.NaN}).n());
    }

    @Test
    void poissonAndBurstyArrivalsHaveTheRequestedRate() {
        List<Request> p = Workload.generate(new Workload.Spec("poisson", 4000, 10, 1, 32, "lognormal", 16, "uniform", 8, 1, 3, 500));
        double rate = (p.size() - 1) / p.get(p.size() - 1).arrival();
        assertEquals(10, rate, 0.6);
        double meanPrompt = p.stream().mapToInt(r -> r.prompt().length - 8).average().orElseThrow();
        assertEquals(32, meanPrompt, 2.5);
        assertTrue(p.stream().allMatch(r -> r.prompt()[0] == p.get(0).prompt()[0] && r.prompt()[7] == p.get(0).prompt()[7]), "shared prefix");
        List<Request> b = Workload.generate(new Workload.Spec("bursty", 4000, 10, 8, 32, "fixed", 16, "fixed", 0, 1, 3, 500));
        assertEquals(b.get(0).arrival(), b.get(7).arrival());
        assertNotEquals(b.get(7).arrival(), b.get(8).arrival());
        assertEquals(10, (b.size() - 8) / b.get(b.size() - 1).arrival(), 1.0);
    }

    @Test
    void traceErrorsNameTheLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.jsonl");
        Files.writeString(f, "# a trace\n{\"arrival\": 0, \"promptTokens\": 5, \"maxTokens\": 3}\n{\"arrival\": 0.5, \"tokens\": [1, 2, 3]}\n");
        List<Request> ok = Workload.readTrace(f, s -> new int[] {1}, 100, 16, 1);
        assertEquals(2, ok.size());
        assertEquals(5, ok.get(0).prompt().length);
        assertEquals(16, ok.get(1).maxTokens());
        Files.writeString(f, "{\"arrival\": 0, \"promptTokens\": 5}\n{\"arrival\": 1, \"tokens\": [1, 999]}\n");
        InputException e = assertThrows(InputException.class, () -> Workload.readTrace(f, s -> new int[] {1}, 100, 16, 1));
        assertTrue(e.getMessage().contains("t.jsonl:2"), e.getMessage());
        Files.writeString(f, "{\"arrival\": 0, \"promptTokens\": 5}\n\n{not json\n");
        e = assertThrows(InputException.class, () -> Workload.readTrace(f, s -> new int[] {1}, 100, 16, 1));
        assertTrue(e.getMessage().contains("t.jsonl:3") && e.getMessage().contains("not JSON"), e.getMessage());
    }
}
