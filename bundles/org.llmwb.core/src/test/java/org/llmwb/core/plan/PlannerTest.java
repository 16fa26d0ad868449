package org.llmwb.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.llmwb.core.Problem;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

class PlannerTest {
    private final GpuSpec h100 = GpuCatalog.builtIn().get("h100-sxm");

    private PlanResult plan(String model, int tp, int pp, int dp, int ep, Precision w) {
        return Planner.plan(PlanInput.of(ModelPresets.of(model), h100, w, Precision.BF16, new ParallelConfig(tp, pp, dp, ep, 1, false), 8192, 32));
    }

    private static List<String> codes(PlanResult r, Problem.Severity s) {
        return r.problems().stream().filter(p -> p.severity() == s).map(Problem::code).toList();
    }

    @Test
    void llama70bTp4Dp2ByHand() {
        PlanResult r = plan("llama-3-70b", 4, 1, 2, 1, Precision.BF16);
        assertTrue(r.valid(), r.problems().toString());
        // per GPU: 80 layers × (q/4 + o/4 + k,v for 2 of the 8 KV heads) + 80 × MLP/4 (linear)
        long h = 8192;
        double linear = 80.0 * (h * h / 4 + h * h / 4 + 2.0 * h * 2 * 128) + 80.0 * 3 * h * 28672 / 4;
        assertEquals(17_112_760_320.0, linear);
        // + norms (replicated) + final norm + vocab-parallel embedding and head (pp = 1: both on this GPU)
        double other = 80.0 * 2 * h + h + 2.0 * 128256 * h / 4;
        assertEquals((linear + other) * 2, r.memory().weights(), 1);
        // KV per token per GPU: 80 layers × 2 × 2 KV heads × 128 × 2 B = 81,920
        assertEquals(81_920, r.kvBytesPerTokenPerGpu(), 1e-9);
        // decode TP all-reduce: 2 per layer, message 32 tokens × 8192 × 2 B; ring sends 2·3/4 of it
        PlanResult.Collective ar = r.collectives().stream().filter(c -> c.phase().equals("decode") && c.type().equals("all-reduce")).findFirst().orElseThrow();
        assertEquals(160, ar.perStep());
        assertEquals(524_288, ar.messageBytes());
        assertEquals(160 * 1.5 * 524_288, ar.bytesPerGpu());
        assertEquals("NVLink 4", ar.link());
        assertTrue(r.commands().get("vllm").contains("--tensor-parallel-size 4"));
        assertTrue(r.commands().get("vllm").contains("--data-parallel-size 2"));
        assertTrue(r.commands().get("sglang").contains("--tp 4 --dp 2"));
        assertTrue(r.commands().get("trtllm").contains("--tp_size 4"));
        // and the client line that measures the deployment: the plan's prompt, concurrency up to batch × DP, all 8 GPUs
        String bench = r.commands().get("llmwb bench");
        assertTrue(bench.startsWith("llmwb bench --url http://HOST:8000/v1 --model "), bench);
        assertTrue(bench.contains("--input-tokens " + r.input().promptTokens()), bench);
        assertTrue(bench.contains("--gpus 8"), bench);
        assertTrue(bench.endsWith(",") == false && bench.contains("concurrency=1,2,4,") && bench.contains("," + r.input().batch() * 2 + " "), bench);
    }

    @Test
    void tpBeyondKvHeadsReplicates() {
        PlanResult r = plan("llama-3-70b", 16, 1, 1, 1, Precision.BF16);
        assertTrue(codes(r, Problem.Severity.WARNING).contains("tp-kv-replicated"));
        assertTrue(codes(r, Problem.Severity.WARNING).contains("tp-cross-node"));
        // one KV head per GPU, not half of one: 80 × 2 × 1 × 128 × 2
        assertEquals(40_960, r.kvBytesPerTokenPerGpu(), 1e-9);
        // the all-reduce now crosses nodes
        assertTrue(r.collectives().stream().anyMatch(c -> c.link().startsWith("network")));
    }

    @Test
    void tpNotDividingHeadsIsAnError() {
        PlanResult r = plan("llama-3.1-8b", 3, 1, 1, 1, Precision.BF16);
        assertFalse(r.valid());
        Problem p = r.problems().stream().filter(x -> x.code().equals("tp-heads")).findFirst().orElseThrow();
        assertTrue(p.hint().contains("1, 2, 4, 8, 16"), p.hint());
    }

    @Test
    void unbalancedPipeline() {
        PlanResult r = plan("llama-3-70b", 2, 3, 1, 1, Precision.BF16);
        Problem p = r.problems().stream().filter(x -> x.code().equals("pp-unbalanced")).findFirst().orElseThrow();
        assertTrue(p.message().contains("27 and 26"), p.message());
        assertTrue(r.collectives().stream().anyMatch(c -> c.group().equals("PP") && c.perStep() == 2));
    }

    @Test
    void expertParallelChecks() {
        PlanResult bad = plan("mixtral-8x7b", 2, 1, 1, 3, Precision.BF16);
        assertTrue(codes(bad, Problem.Severity.ERROR).contains("ep-experts"));
        assertTrue(codes(bad, Problem.Severity.ERROR).contains("ep-group"));
        PlanResult dense = plan("llama-3.1-8b", 1, 1, 2, 2, Precision.BF16);
        assertTrue(codes(dense, Problem.Severity.ERROR).contains("ep-dense"));
        // DeepSeek-R1 on 8 H100s, TP2 × DP4 attention with EP4: FP8 weights still do not fit 80 GB GPUs
        PlanResult ds = Planner.plan(PlanInput.of(ModelPresets.of("deepseek-r1"), h100, Precision.FP8_E4M3, Precision.BF16,
                new ParallelConfig(2, 1, 4, 4, 1, false), 8192, 32));
        assertTrue(codes(ds, Problem.Severity.ERROR).contains("weights-do-not-fit"), ds.problems().toString());
        assertTrue(codes(ds, Problem.Severity.INFO).contains("mla-tp"));
        assertTrue(ds.collectives().stream().anyMatch(c -> c.type().equals("all-to-all")));
        // ... and fit on 8 H200s (141 GB)
        PlanResult ds200 = Planner.plan(PlanInput.of(ModelPresets.of("deepseek-r1"), GpuCatalog.builtIn().get("h200"), Precision.FP8_E4M3,
                Precision.BF16, new ParallelConfig(2, 1, 4, 4, 1, false), 8192, 32));
        assertTrue(ds200.valid(), ds200.problems().toString());
    }

    @Test
    void epKeepsTheSameExpertMemoryAsTpAcrossTheStage() {
        ModelConfig m = ModelPresets.of("mixtral-8x7b");
        // TP2×DP4 with EP8: each GPU holds 1 whole expert per layer; TP8 with EP1: 1/8 of each of 8 experts
        PlanResult ep = Planner.plan(PlanInput.of(m, h100, Precision.BF16, Precision.BF16, new ParallelConfig(2, 1, 4, 8, 1, false), 4096, 8));
        PlanResult tp = Planner.plan(PlanInput.of(m, h100, Precision.BF16, Precision.BF16, new ParallelConfig(8, 1, 1, 1, 1, false), 4096, 8));
        double expertBytesPerGpu = 32.0 * m.expertParams() * 2; // one expert per layer
        assertTrue(ep.memory().weights() > expertBytesPerGpu);
        assertTrue(ep.memory().weights() > tp.memory().weights(), "attention is split 2-way under EP, 8-way under TP8");
    }

    @Test
    void weightsDoNotFitSaysWhatToChange() {
        PlanResult r = plan("llama-3.1-405b", 8, 1, 1, 1, Precision.BF16);
        Problem p = r.problems().stream().filter(x -> x.code().equals("weights-do-not-fit")).findFirst().orElseThrow();
        assertTrue(p.hint().contains("TP") && p.hint().contains("FP8"), p.hint());
        assertTrue(plan("llama-3.1-405b", 8, 1, 1, 1, Precision.FP8_E4M3).problems().stream().noneMatch(x -> x.code().equals("weights-do-not-fit")));
    }

    @Test
    void sequenceAndContextParallel() {
        PlanResult r = Planner.plan(PlanInput.of(ModelPresets.of("llama-3.1-8b"), h100, Precision.BF16, Precision.BF16,
                new ParallelConfig(2, 1, 1, 1, 4, true), 131072, 1));
        assertTrue(r.collectives().stream().anyMatch(c -> c.type().equals("reduce-scatter")));
        assertTrue(r.collectives().stream().noneMatch(c -> c.type().equals("all-reduce")));
        assertTrue(r.collectives().stream().anyMatch(c -> c.group().startsWith("CP (ring")));
        // KV per GPU split 2 ways by heads and 4 ways by sequence: 32 × 2 × 4 × 128 × 2 ÷ 4
        assertEquals(32 * 2 * 4 * 128 * 2 / 4.0, r.kvBytesPerTokenPerGpu(), 1e-9);
        assertTrue(r.commands().get("vllm").contains("# "), "CP is not a vllm flag: say so");
    }
}
