package org.llmwb.engine.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.llmwb.core.InputException;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.SchedulerConfig;

/**
 * The serving simulator: its step-time model against the core's roofline calculators (which are checked against
 * published figures), exact timelines where they can be derived by hand, request conservation, and the effects it
 * exists to show (replicas cut queueing, KV-aware routing reuses prefixes).
 */
class ServingSimTest {
    static final ModelConfig M = ModelPresets.of("llama-3.1-8b");
    static final GpuSpec H100 = GpuCatalog.builtIn().get("h100-sxm");
    static final Precision BF16 = Precision.parse("bf16");

    static ServingSim.Config config(int replicas, Router router, SchedulerConfig sched) {
        return config(replicas, router, sched, 1.0);
    }

    static ServingSim.Config config(int replicas, Router router, SchedulerConfig sched, double overlapWeight) {
        return ServingSim.Config.of(M, H100, BF16, BF16).withReplicas(replicas, 1).withRouter(router, overlapWeight).withScheduler(sched, true).withSlos(0.5, 0.05);
    }

    private static SeqInput seq(int newTokens, int past) {
        return new SeqInput(new int[newTokens], past, new int[(past + newTokens + 15) / 16]);
    }

    @Test
    void rooflineStepEqualsTheCoreCalculatorsForPureDecodeAndPrefill() {
        RooflineStepModel rm = RooflineStepModel.bound(M, H100, BF16, BF16, 1);
        // decode: 8 sequences with 1,023 cached tokens each make one token; the core counts context 1,024 (cached + new)
        List<SeqInput> dec = java.util.Collections.nCopies(8, seq(1, 1023));
        double core = InferenceCost.decode(M, H100, BF16, BF16, 8, 1024).timeBound();
        assertEquals(core, rm.seconds(dec), core * 0.01, "decode step");
        // prefill: 4 prompts of 2,048 tokens
        List<SeqInput> pre = java.util.Collections.nCopies(4, seq(2048, 0));
        double corePre = InferenceCost.prefill(M, H100, BF16, BF16, 4, 2048).timeBound();
        assertEquals(corePre, rm.seconds(pre), corePre * 0.01, "prefill step");
        // TP 2 halves per-GPU work and adds the all-reduces
        RooflineStepModel tp2 = RooflineStepModel.bound(M, H100, BF16, BF16, 2);
        assertTrue(tp2.seconds(dec) > rm.seconds(dec) / 2 && tp2.seconds(dec) < rm.seconds(dec), "TP 2 decode");
        // a roofline model made for TP 1 runs each pool at that pool's TP; the prefill pool shares the replicas' model
        ServingSim.Config c = ServingSim.Config.of(M, H100, BF16, BF16).withStepModels(new RooflineStepModel(M, H100, BF16, BF16, 1, 0.6, 0.8, 200e-6, 5e-6), null)
                .withReplicas(2, 2).withPrefillPool(1, 4);
        assertEquals(2, ((RooflineStepModel) c.steps(false)).tp());
        assertEquals(4, ((RooflineStepModel) c.steps(true)).tp());
        assertEquals(RooflineStepModel.bound(M, H100, BF16, BF16, 4).seconds(dec) * 1.0, ((RooflineStepModel) ServingSim.Config.of(M, H100, BF16, BF16)
                .withPrefillPool(1, 4).steps(true)).seconds(dec), 1e-15, "no model: the bare roofline at the pool's TP");
    }

    @Test
    void oneRequestAloneFollowsTheStepModelExactly() {
        ServingSim.Config c = config(1, Router.ROUND_ROBIN, SchedulerConfig.continuous(8192, 64));
        RooflineStepModel rm = RooflineStepModel.bound(M, H100, BF16, BF16, 1);
        int prompt = 512;
        int out = 5;
        ServingSim.Result r = new ServingSim(c).run(List.of(new Request(0, 1.25, new int[prompt], out, 0)));
        RequestMetrics m = r.requests().get(0);
        double prefill = rm.seconds(List.of(seq(prompt, 0)));
        assertEquals(prefill, m.ttft(), 1e-12, "TTFT = the prefill step (the idle replica starts at the arrival)");
        double rest = 0;
        for (int k = 1; k < out; k++) {
            rest += rm.seconds(List.of(seq(1, prompt + k - 1)));
        }
        assertEquals(prefill + rest, m.latency(), 1e-12, "latency = prefill + each decode step at its context");
        assertEquals(out, m.outputTokens());
    }

    @Test
    void everyRequestFinishesWithItsTokensAndMoreReplicasCutQueueing() {
        List<Request> reqs = Workload.generate(new Workload.Spec("poisson", 400, 60, 1, 1024, "lognormal", 128, "lognormal", 0, 1, 7, 32000));
        long expected = reqs.stream().mapToLong(Request::maxTokens).sum();
        ServingSim.Result one = new ServingSim(config(1, Router.LEAST_OUTSTANDING, SchedulerConfig.continuous(2048, 64))).run(reqs);
        ServingSim.Result four = new ServingSim(config(4, Router.LEAST_OUTSTANDING, SchedulerConfig.continuous(2048, 64))).run(reqs);
        for (ServingSim.Result r : List.of(one, four)) {
            assertEquals(400, r.metrics().requests());
            assertEquals(expected, r.metrics().outputTokens());
            assertEquals(400, r.replicas().stream().mapToInt(ServingSim.ReplicaStats::requests).sum());
        }
        double p99One = one.metrics().table().get("ttft_ms").p99();
        double p99Four = four.metrics().table().get("ttft_ms").p99();
        System.out.printf(java.util.Locale.ROOT, "TTFT p99: 1 replica %.1f ms, 4 replicas %.1f ms; tokens/s/GPU %.0f vs %.0f; simulated in %.2f + %.2f s%n", p99One, p99Four,
                one.outputTokensPerSPerGpu(), four.outputTokensPerSPerGpu(), one.wallS(), four.wallS());
        assertTrue(p99Four < p99One, "4 replicas queue less: " + p99Four + " vs " + p99One + " ms");
        assertTrue(one.outputTokensPerSPerGpu() > four.outputTokensPerSPerGpu(), "one busy GPU does more per GPU than four lightly loaded ones");
    }

    @Test
    void kvAwareRoutingReusesPrefixesAndCutsTtftOnMultiTurnChats() {
        List<Request> reqs = Sessions.generate(48, 6, 4, 2.0, 128, 256, 128, 3, 32000);
        ServingSim.Result rr = new ServingSim(config(4, Router.ROUND_ROBIN, SchedulerConfig.continuous(2048, 64))).run(reqs);
        ServingSim.Result kv = new ServingSim(config(4, Router.KV_AWARE, SchedulerConfig.continuous(2048, 64), 4.0)).run(reqs);
        double ttftRr = rr.metrics().table().get("ttft_ms").avg();
        double ttftKv = kv.metrics().table().get("ttft_ms").avg();
        System.out.printf(java.util.Locale.ROOT, "prefix hit rate %.2f → %.2f, mean TTFT %.1f → %.1f ms (round-robin → kv-aware)%n", rr.prefixHitRate(), kv.prefixHitRate(),
                ttftRr, ttftKv);
        assertTrue(kv.prefixHitRate() > rr.prefixHitRate() + 0.2, "kv-aware reuses more: " + kv.prefixHitRate() + " vs " + rr.prefixHitRate());
        assertTrue(ttftKv < ttftRr, "kv-aware TTFT " + ttftKv + " vs round-robin " + ttftRr);
    }

    @Test
    void disaggregatedRequestPrefillsMovesItsKvAndDecodesElsewhere() {
        ServingSim.Config c = config(1, Router.ROUND_ROBIN, SchedulerConfig.continuous(8192, 64)).withPrefillPool(1, 1).withTransfer(50e9);
        RooflineStepModel rm = RooflineStepModel.bound(M, H100, BF16, BF16, 1);
        int prompt = 2048;
        ServingSim.Result r = new ServingSim(c).run(List.of(new Request(0, 0.5, new int[prompt], 4, 0)));
        RequestMetrics m = r.requests().get(0);
        double prefill = rm.seconds(List.of(seq(prompt, 0)));
        double move = prompt * org.llmwb.core.calc.KvCache.bytesPerToken(M, BF16) / 50e9;
        assertEquals(prefill, m.ttft(), 1e-12, "the first token comes from the prefill replica");
        assertEquals(move + rm.seconds(List.of(seq(1, prompt))), m.itl()[0], 1e-12, "then the KV moves and the decode replica runs its first step");
        assertEquals(move, r.meanTransferS(), 1e-15);
        assertEquals(2, r.gpus());
        assertEquals(List.of("prefill", "decode"), r.replicas().stream().map(ServingSim.ReplicaStats::pool).toList());
    }

    @Test
    void disaggregationRemovesPrefillInterferenceFromInterTokenLatency() {
        // long prompts arriving among decoders: aggregated steps carry prefill chunks, disaggregated decode steps do not
        List<Request> reqs = Workload.generate(new Workload.Spec("poisson", 300, 6, 1, 6144, "fixed", 256, "fixed", 0, 1, 9, 32000));
        SchedulerConfig chunked = SchedulerConfig.continuous(2048, 128);
        ServingSim.Result agg = new ServingSim(config(2, Router.LEAST_OUTSTANDING, chunked)).run(reqs);
        ServingSim.Result dis = new ServingSim(config(1, Router.LEAST_OUTSTANDING, chunked).withPrefillPool(1, 1)).run(reqs);
        double itlAgg = agg.metrics().table().get("itl_ms").p99();
        double itlDis = dis.metrics().table().get("itl_ms").p99();
        System.out.printf(java.util.Locale.ROOT, "2 GPUs, ITL p99 aggregated %.2f ms, disaggregated 1P:1D %.2f ms; TTFT p50 %.1f vs %.1f ms%n", itlAgg, itlDis,
                agg.metrics().table().get("ttft_ms").p50(), dis.metrics().table().get("ttft_ms").p50());
        assertEquals(300, dis.metrics().requests());
        assertEquals(300L * 256, dis.metrics().outputTokens());
        assertTrue(itlDis < itlAgg / 2, "disaggregated ITL p99 " + itlDis + " vs aggregated " + itlAgg);
    }

    @Test
    void thePlannerGivesPrefillHeavyWorkMorePrefillGpusAndDecodeHeavyWorkMoreDecodeGpus() {
        ServingSim.Config base = config(1, Router.LEAST_OUTSTANDING, SchedulerConfig.continuous(8192, 256)).withSlos(2.0, 0.05)
                .withStepModels(new RooflineStepModel(M, H100, BF16, BF16, 1, 0.6, 0.8, 200e-6, 5e-6), null);
        // prefill-heavy: 4K prompts, 64-token answers; decode-heavy: 256-token prompts, 1,024-token answers
        List<Request> prefillHeavy = Workload.generate(new Workload.Spec("poisson", 400, 40, 1, 4096, "fixed", 64, "fixed", 0, 1, 5, 32000));
        List<Request> decodeHeavy = Workload.generate(new Workload.Spec("poisson", 300, 8, 1, 256, "fixed", 1024, "fixed", 0, 1, 5, 32000));
        PoolPlanner.Candidate p = PoolPlanner.plan(base, prefillHeavy, 8, new int[] {1}, true, null).stream().filter(c -> c.prefill() > 0).findFirst().orElseThrow();
        PoolPlanner.Candidate d = PoolPlanner.plan(base, decodeHeavy, 8, new int[] {1}, true, null).stream().filter(c -> c.prefill() > 0).findFirst().orElseThrow();
        System.out.println("best disaggregated layouts on 8 GPUs: prefill-heavy " + p.label() + " (" + p.goodputReqS() + " req/s), decode-heavy " + d.label() + " ("
                + d.goodputReqS() + " req/s)");
        assertTrue(p.prefill() > p.decode(), "prefill-heavy work wants more prefill GPUs: " + p);
        assertTrue(d.decode() > d.prefill(), "decode-heavy work wants more decode GPUs: " + d);
    }

    @Test
    void mooncakeTracesShareCachedPrefixesThroughTheirHashIds(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // Mooncake's form: timestamp in ms, lengths, one hash id per 512-token block; requests 0 and 2 share two blocks
        java.nio.file.Path t = dir.resolve("trace.jsonl");
        java.nio.file.Files.writeString(t, """
                {"timestamp": 1000, "input_length": 1100, "output_length": 8, "hash_ids": [7, 8, 9]}
                {"timestamp": 1500, "input_length": 600, "output_length": 8, "hash_ids": [1, 2]}

                {"timestamp": 3000, "input_length": 1300, "output_length": 8, "hash_ids": [7, 8, 42]}
                """);
        List<Request> reqs = Traces.read(t, 32000);
        assertEquals(3, reqs.size());
        assertEquals(0.0, reqs.get(0).arrival());
        assertEquals(2.0, reqs.get(2).arrival(), 1e-12);
        assertEquals(1300, reqs.get(2).prompt().length);
        assertTrue(java.util.Arrays.equals(java.util.Arrays.copyOf(reqs.get(0).prompt(), 1024), java.util.Arrays.copyOf(reqs.get(2).prompt(), 1024)),
                "equal hash ids give equal blocks");
        ServingSim.Result r = new ServingSim(config(1, Router.ROUND_ROBIN, SchedulerConfig.continuous(8192, 64))).run(reqs);
        assertEquals(1024, r.replicas().get(0).cachedPromptTokens(), "request 2 finds the two shared blocks cached");
        java.nio.file.Files.writeString(t, "{\"timestamp\": 1000, \"input_length\": 10, \"output_length\": 1}\n{\"timestamp\": 5, \"input_length\": -3}\n");
        InputException bad = assertThrows(InputException.class, () -> Traces.read(t, 32000));
        assertTrue(bad.getMessage().contains("trace.jsonl:2") && bad.getMessage().contains("input_length"), bad.getMessage());
    }

    @Test
    void badConfigurationsAreRefusedWithAReason() {
        InputException fit = assertThrows(InputException.class,
                () -> ServingSim.kvBlocks(ServingSim.Config.of(ModelPresets.of("llama-3-70b"), H100, BF16, BF16)));
        assertTrue(fit.getMessage().contains("does not fit"), fit.getMessage());
        InputException tp = assertThrows(InputException.class, () -> RooflineStepModel.bound(M, H100, BF16, BF16, 3));
        assertTrue(tp.getMessage().contains("TP 3"), tp.getMessage());
        assertThrows(InputException.class, () -> config(0, Router.ROUND_ROBIN, SchedulerConfig.continuous(2048, 64)));
        assertThrows(IllegalArgumentException.class, () -> Router.parse("random"));
    }
}
