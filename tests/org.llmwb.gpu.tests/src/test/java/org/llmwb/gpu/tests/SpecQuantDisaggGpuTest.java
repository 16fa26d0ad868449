package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.disagg.DisaggRun;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CudaModelRunner;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.quant.Quantization;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;
import org.llmwb.engine.spec.ModelDrafter;
import org.llmwb.engine.spec.NgramDrafter;
import org.llmwb.engine.spec.SpecConfig;
import org.llmwb.engine.spec.Speculator;

/**
 * Issue 6 on the GPU: greedy speculative decoding against plain decoding (our kernels), the quantized runner's
 * INT8/INT4 GEMV path against the CPU's quantize-dequantize reference of the same rules, and a disaggregated
 * run with the two workers in two contexts against an aggregated one.
 */
class SpecQuantDisaggGpuTest extends GpuTestBase {
    @TempDir
    static Path dir;

    /** Four layers (so an early exit at two is a real draft) and an intermediate size INT4's groups of 128 divide. */
    static final CheckpointGenerator.Shape SHAPE = new CheckpointGenerator.Shape(128, 384, 4, 2, 1, 64, 200, true, 2048, 10000);

    static Path model(String name, long seed) throws Exception {
        Path p = dir.resolve(name);
        return java.nio.file.Files.isDirectory(p) ? p : CheckpointGenerator.generate(p, SHAPE, seed, org.llmwb.engine.model.Safetensors.Dtype.F32, 1);
    }

    static int[][] prompts() {
        int[] phrase = {12, 40, 7, 99, 3, 150, 61, 18};
        int[][] p = new int[5][];
        for (int i = 0; i < p.length; i++) {
            p[i] = new int[20 + 7 * i];
            for (int j = 0; j < p[i].length; j++) {
                p[i][j] = i % 2 == 0 ? phrase[j % phrase.length] : (37 * i + 11 * j * j) % 250;
            }
        }
        return p;
    }

    record Run(List<int[]> outputs, Map<String, float[]> logits) {
    }

    static Run run(CudaModelRunner r, Speculator sp) {
        LlmEngine e = new LlmEngine(r, new BlockManager(128, 16, true), SchedulerConfig.continuous(256, 8));
        if (sp != null) {
            e.speculate(sp);
        }
        Map<String, float[]> logits = new HashMap<>();
        e.logitsTap((s, l) -> logits.put(s.id() + ":" + s.outputLength(), l.clone()));
        List<Sequence> seqs = new ArrayList<>();
        for (int[] p : prompts()) {
            seqs.add(e.add(p, SamplingParams.greedy(32), 0, 0));
        }
        while (e.hasWork()) {
            e.step(false);
        }
        List<int[]> out = new ArrayList<>();
        seqs.forEach(s -> out.add(s.output()));
        return new Run(out, logits);
    }

    /**
     * Token for token, except where plain decoding itself stood on a near tie (top-2 gap below 0.05, which the
     * verify path's different kernels — flash prefill attention instead of paged decode — may resolve the other
     * way in BF16); the sequence is compared up to there.
     */
    static int compare(Run plain, Run spec, String what) {
        int compared = 0;
        for (int i = 0; i < plain.outputs().size(); i++) {
            int[] a = plain.outputs().get(i);
            int[] b = spec.outputs().get(i);
            for (int t = 0; t < a.length; t++) {
                if (a[t] != b[t]) {
                    float[] l = plain.logits().get(i + ":" + t);
                    float[] s = l.clone();
                    java.util.Arrays.sort(s);
                    assertTrue(s[s.length - 1] - s[s.length - 2] < 0.05, what + ": request " + i + " differs at token " + t + " without a near tie");
                    break;
                }
                compared++;
            }
        }
        return compared;
    }

    @Test
    void greedySpeculationReproducesPlainDecodingOnTheGpu() throws Exception {
        try (Checkpoint ck = Checkpoint.open(model("t", 7)); CudaModelRunner r = new CudaModelRunner(gpu, ck, 128, 16)) {
            Run plain = run(r, null);
            Speculator ng = new Speculator(SpecConfig.ngram(4), new NgramDrafter(1, 3));
            Run a = run(r, ng);
            Speculator ls = new Speculator(new SpecConfig(SpecConfig.Method.LAYER_SKIP, 3, true, 1, 3, 2, null), ModelDrafter.layerSkip(r, 2));
            Run b = run(r, ls);
            int ca = compare(plain, a, "ngram");
            int cb = compare(plain, b, "layer-skip");
            assertTrue(ca > 100 && cb > 100, "tokens compared: " + ca + ", " + cb);
            assertTrue((Long) ng.summary().get("verifies") > 0 && (Long) ls.summary().get("verifies") > 0);
        }
    }

    /**
     * The quantized runners against the BF16 runner on the same 40-token step (40 rows: the INT8/INT4 GEMV path
     * runs 16 rows at a time, 16 + 16 + 8). Each stays close, INT8 (per channel) closer than INT4 (groups of
     * 128), and stores fewer bytes. The GEMV kernels themselves are checked against the CPU quantizers' exact
     * dequantization in GemvGpuTest; ND4J is not on the GPU machine's class path, so the CPU model is not run here.
     */
    @Test
    void quantizedRunnersStayCloseToBf16() throws Exception {
        try (Checkpoint ck = Checkpoint.open(model("t", 7)); CudaModelRunner bf = new CudaModelRunner(gpu, ck, 4, 16)) {
            int[] text = new int[40];
            for (int i = 0; i < text.length; i++) {
                text[i] = (i * 29 + 3) % 250;
            }
            int[] table = {0, 1, 2};
            float[][] ref = bf.run(List.of(new SeqInput(text, 0, table, text.length)));
            Map<Quantization.Weights, Double> errs = new HashMap<>();
            for (Quantization.Weights w : new Quantization.Weights[] {Quantization.Weights.INT8, Quantization.Weights.INT4, Quantization.Weights.FP8,
                    Quantization.Weights.NVFP4}) {
                try (CudaModelRunner g = new CudaModelRunner(gpu, ck, 4, 16, new Quantization(w, Quantization.Kv.NONE))) {
                    float[][] got = g.run(List.of(new SeqInput(text, 0, table, text.length)));
                    double worst = 0;
                    int agree = 0;
                    for (int i = 0; i < ref.length; i++) {
                        double max = 0;
                        double err = 0;
                        for (int v = 0; v < ref[i].length; v++) {
                            max = Math.max(max, Math.abs(ref[i][v]));
                            err = Math.max(err, Math.abs(ref[i][v] - got[i][v]));
                        }
                        worst = Math.max(worst, err / max);
                        agree += org.llmwb.engine.sched.Sampler.argmax(ref[i]) == org.llmwb.engine.sched.Sampler.argmax(got[i]) ? 1 : 0;
                    }
                    errs.put(w, worst);
                    // bounds from the formats' step sizes on N(0, 0.02) weights: INT8 per channel is fine-grained, 4-bit formats are not
                    double bound = w == Quantization.Weights.INT8 ? 0.1 : 0.6;
                    assertTrue(worst > 0 && worst < bound, w + ": worst relative logit error " + worst + " (bound " + bound + ")");
                    System.out.printf("%s: worst relative logit error %.4f, top-1 %d/%d%n", w, worst, agree, ref.length);
                    assertTrue(agree >= ref.length * 0.8, w + ": top-1 agreement " + agree + "/" + ref.length);
                    assertTrue(g.weightBytes() < bf.weightBytes(), w + " stores fewer bytes");
                }
            }
            assertTrue(errs.get(Quantization.Weights.INT8) < errs.get(Quantization.Weights.INT4), "INT8 closer than INT4: " + errs);
        }
    }

    @Test
    void disaggregatedInTwoContextsMatchesAggregated() throws Exception {
        List<Request> reqs = new ArrayList<>();
        int[][] p = prompts();
        for (int i = 0; i < p.length; i++) {
            reqs.add(new Request(i, 0.002 * i, p[i], 12, 0));
        }
        SamplingParams g = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        Gpu pre = Gpu.open(0);
        Gpu dec = Gpu.open(0);
        try (Checkpoint ck = Checkpoint.open(model("t", 7))) {
            Map<String, float[]> la = new java.util.concurrent.ConcurrentHashMap<>();
            Map<String, float[]> ld = new java.util.concurrent.ConcurrentHashMap<>();
            gpu.bind();
            DisaggRun.Result agg;
            try (CudaModelRunner r = new CudaModelRunner(gpu, ck, 64, 16)) {
                LlmEngine e = new LlmEngine(r, new BlockManager(64, 16, true), SchedulerConfig.continuous(256, 8));
                e.logitsTap((s, l) -> la.put(s.tag + ":" + s.outputLength(), l.clone()));
                agg = DisaggRun.aggregated(List.of(e), reqs, g, 0, 0);
            }
            pre.bind();
            CudaModelRunner rp = new CudaModelRunner(pre, ck, 64, 16);
            dec.bind();
            CudaModelRunner rd = new CudaModelRunner(dec, ck, 64, 16);
            DisaggRun.Result dis;
            try (ModelRunner a = rp; ModelRunner b = rd) {
                LlmEngine ep = new LlmEngine(rp, new BlockManager(64, 16, true), SchedulerConfig.continuous(256, 8));
                LlmEngine ed = new LlmEngine(rd, new BlockManager(64, 16, false), SchedulerConfig.continuous(256, 8));
                ed.logitsTap((s, l) -> ld.put(s.tag + ":" + s.outputLength(), l.clone()));
                dis = DisaggRun.disaggregated(List.of(ep), List.of(ed), reqs, g, 2, 0, 0);
            }
            assertEquals(p.length, dis.transfers().size());
            for (DisaggRun.Transfer t : dis.transfers()) {
                assertEquals("device", t.path());
            }
            double worst = 0;
            for (var en : ld.entrySet()) {
                float[] x = la.get(en.getKey());
                for (int i = 0; i < x.length; i++) {
                    worst = Math.max(worst, Math.abs(x[i] - en.getValue()[i]));
                }
            }
            assertTrue(ld.size() >= p.length * 10, "decode steps tapped " + ld.size());
            assertTrue(worst < 2e-2, "decode logits after the transfer match the aggregated run's: " + worst);
            for (int i = 0; i < p.length; i++) {
                assertEquals(12, dis.outputs().get(i).length);
            }
            assertEquals(p.length, agg.requests().size());
        } finally {
            pre.close();
            dec.close();
            gpu.bind();
        }
    }
}
