package org.llmwb.engine.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.model.CpuModelRunner;

/**
 * The CPU engine against Hugging Face transformers on every fixture ({@link TransformersParity#fixtures}: checkpoints
 * written by {@code save_pretrained} with transformers' FP32 logits, made by {@code tools/hf/make_parity_fixtures.py}),
 * and on each fixture's older-config-keys variant. The CPU engine computes in FP32 from the stored weights, as
 * transformers' FP32 reference does, so only summation order separates them: every logits row of every way of
 * running a case (full prefill, prefill + decode, chunked prefill, prefix-cached prefill, the engine with chunked
 * prefill and prefix caching) must be within {@link #TOL} of the row's largest |logit| (measured: about 2e-6), and
 * the engine's greedy tokens must be transformers' greedy tokens. With the transformers-5 config form read wrongly
 * (rope_theta inside rope_parameters, issue 18) the differences were 0.5-0.8 of the largest logit.
 */
class TransformersParityTest {
    /** Relative tolerance of a logits row (FP32 against FP32). */
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> cpuEngineMatchesTransformers() throws IOException {
        List<Path> dirs = new ArrayList<>(TransformersParity.fixtures());
        assertFalse(dirs.isEmpty(), "no parity fixtures");
        assertTrue(dirs.stream().anyMatch(d -> d.toString().contains("kjv")), "a trained model is among the fixtures: " + dirs);
        return dirs.stream().flatMap(d -> Stream.of(DynamicTest.dynamicTest(d.getFileName().toString(), () -> check(d)),
                DynamicTest.dynamicTest(d.getFileName() + " (older config keys)", () -> {
                    Path legacy = TransformersParity.legacyVariant(d, tmp);
                    if (legacy != null) {
                        check(legacy);
                    }
                })));
    }

    private static void check(Path d) {
        List<TransformersParity.Check> checks = TransformersParity.run(d, CpuModelRunner::open);
        checks.forEach(c -> System.out.println(d.getFileName() + " " + c));
        assertTrue(checks.size() >= 5 * TransformersParity.cases(d).size(), "every way of running every case was checked");
        for (TransformersParity.Check c : checks) {
            assertTrue(c.maxRelErr() <= TOL, d.getFileName() + ": " + c);
            assertEquals(c.tokens(), c.tokensEqual(), d.getFileName() + ": greedy tokens differ from transformers' in " + c);
        }
    }
}
