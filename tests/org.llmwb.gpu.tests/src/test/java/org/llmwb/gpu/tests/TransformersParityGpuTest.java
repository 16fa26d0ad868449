package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.model.CudaModelRunner;
import org.llmwb.engine.parity.TransformersParity;

/**
 * The CUDA engine against Hugging Face transformers on every parity fixture (and each one's older-config-keys
 * variant) — Llama 2/3 shapes, Mistral, Qwen2 (q/k/v biases), Qwen3 (per-head q/k norms), a SmolLM-style GQA group of 3 —
 * through every decode path the runner can choose: the persistent batch-1 kernel (where the shape allows
 * it: hidden, query width and intermediate sizes multiples of 256), the fused decode layers on the split-K GEMV and
 * on the v2 GEMV from CUDA graphs, the separate layer kernels from graphs, and launched kernels. Every way of
 * running a case ({@link TransformersParity}: full prefill, prefill + decode, chunked and prefix-cached prefill, the
 * engine) must stay within {@link #TOL} of the row's largest |logit| of transformers' FP32 logits (the GPU keeps
 * activations in BF16; measured differences are stated in the run folders), and a greedy token may differ from
 * transformers' only where transformers' own top-2 margin is below twice the difference measured on that case.
 */
class TransformersParityGpuTest extends GpuTestBase {
    static final double TOL = 5e-2;

    @TempDir
    static Path tmp;

    /** {graphs, fused layers, split-K GEMV, persistent batch-1 kernel}. */
    private static final boolean[][] PATHS = {{true, true, true, true}, {true, true, true, false}, {true, true, false, false}, {true, false, true, false},
            {false, true, true, false}};

    @TestFactory
    Stream<DynamicTest> cudaEngineMatchesTransformersOnEveryPath() throws Exception {
        List<Path> dirs = new ArrayList<>();
        for (Path d : TransformersParity.fixtures()) {
            dirs.add(d);
            Path legacy = TransformersParity.legacyVariant(d, tmp);
            if (legacy != null) {
                dirs.add(legacy);
            }
        }
        assertFalse(dirs.isEmpty(), "no parity fixtures");
        List<DynamicTest> tests = new ArrayList<>();
        int[] persistentRuns = {0};
        for (Path d : dirs) {
            for (boolean[] p : PATHS) {
                String name = d.getFileName() + " " + (p[0] ? "graphs" : "launched") + (p[1] ? "+fused" : "") + (p[2] ? "+splitK" : "") + (p[3] ? "+persistent" : "");
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    String[] path = {null};
                    List<TransformersParity.Check> checks = TransformersParity.run(d, (ck, blocks, bs) -> {
                        CudaModelRunner r = new CudaModelRunner(gpu, ck, blocks, bs).useGraphs(p[0]).useFusedDecode(p[1]).useSplitKGemv(p[2]).usePersistentDecode(p[3]);
                        path[0] = p[3] ? (r.runsPersistent(1) ? "persistent kernel" : "persistent kernel refused: " + r.persistentUnsupported()) : "";
                        return r;
                    });
                    if ("persistent kernel".equals(path[0])) {
                        persistentRuns[0]++;
                    }
                    List<TransformersParity.Case> cases = TransformersParity.cases(d);
                    double[] decodeErr = new double[cases.size()];
                    for (TransformersParity.Check c : checks) {
                        System.out.println(name + " " + c + (c.mode().equals("decode") && !path[0].isEmpty() ? " [" + path[0] + "]" : ""));
                        assertTrue(c.maxRelErr() <= TOL, name + ": " + c);
                        if (c.mode().equals("decode")) {
                            decodeErr[c.caseIndex()] = c.maxAbsErr();
                        }
                    }
                    for (TransformersParity.Check c : checks) {
                        if (c.tokens() > 0 && c.tokensEqual() < c.tokens()) {
                            double margin = TransformersParity.marginAt(cases.get(c.caseIndex()), c.tokensEqual());
                            assertTrue(margin <= 2 * decodeErr[c.caseIndex()], name + ": greedy token " + c.tokensEqual() + " differs from transformers' where its top-2 margin is "
                                    + margin + ", above twice the measured logit difference " + decodeErr[c.caseIndex()] + ": " + c);
                        }
                    }
                }));
            }
        }
        tests.add(DynamicTest.dynamicTest("the persistent kernel ran on some fixture", () -> assertTrue(persistentRuns[0] > 0, "no fixture ran the persistent kernel")));
        return tests.stream();
    }
}
