package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.SamplingRef;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.Sampling;

/**
 * Sampling against its reference. Rows share one set of logits and get stratified uniforms
 * u_i = (i + ½) / N, so the draws trace the inverse CDF: each token's count must be within ±2 of
 * N · p_ref, and every draw must equal the reference's except where the reference's target lies
 * within 1e-5 of a cumulative boundary (where FP32 and double may disagree).
 */
class SamplingGpuTest extends GpuTestBase {

    @ParameterizedTest(name = "vocab {0} T {1} top-k {2} top-p {3}")
    @CsvSource({"50, 1.0, 0, 1.0", "50, 0.7, 10, 1.0", "1003, 1.3, 0, 0.9", "32000, 0.8, 40, 0.95", "128256, 1.0, 0, 0.5"})
    void drawsFollowTheReferenceDistribution(int vocab, float temperature, int topK, float topP) {
        Random r = new Random(vocab);
        int n = 2048;
        float[] row = gaussian(r, vocab, 2);
        float[] logits = new float[n * vocab];
        float[] u = new float[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(row, 0, logits, i * vocab, vocab);
            u[i] = (i + 0.5f) / n;
        }
        int[] got = run(logits, u, n, vocab, temperature, topK, topP);
        int[] counts = new int[vocab];
        int mismatches = 0;
        int ambiguous = 0;
        SamplingRef.Result kept = SamplingRef.sample(row, 0, vocab, temperature, topK, topP, 0.5f); // thresholds once
        double[] probs = kept.probs();
        for (int i = 0; i < n; i++) {
            SamplingRef.Result ref = SamplingRef.draw(probs, kept.keepKey(), u[i]);
            counts[got[i]]++;
            assertTrue(ref.probs()[got[i]] > 0, "row " + i + ": token " + got[i] + " is outside the kept set");
            if (got[i] != ref.token()) {
                if (ref.boundaryDistance() < 1e-5) {
                    ambiguous++;
                } else {
                    mismatches++;
                }
            }
        }
        assertEquals(0, mismatches, "draws differing from the reference away from CDF boundaries (" + ambiguous + " at boundaries)");
        for (int j = 0; j < vocab; j++) {
            assertTrue(Math.abs(counts[j] - n * probs[j]) <= 2.0 + ambiguous, "token " + j + ": " + counts[j] + " draws vs " + n * probs[j]);
        }
    }

    @Test
    void topKOfOneIsArgmaxAndBadArgumentsAreRejected() {
        Random r = new Random(11);
        int rows = 5, vocab = 128256;
        float[] logits = gaussian(r, rows * vocab, 1);
        float[] u = {0.1f, 0.5f, 0.9f, 0.99f, 0.0f};
        int[] got = run(logits, u, rows, vocab, 0.7f, 1, 1f);
        int[] want = LayersRef.argmax(logits, vocab);
        for (int i = 0; i < rows; i++) {
            assertEquals(want[i], got[i], "row " + i);
        }
        Sampling s = new Sampling(gpu);
        try (DeviceBuffer b = gpu.alloc("b", 64)) {
            assertThrows(IllegalArgumentException.class, () -> s.sample(b, b, b, 1, 4, 0f, 0, 1f));
            assertThrows(IllegalArgumentException.class, () -> s.sample(b, b, b, 1, 4, 1f, 5, 1f));
            assertThrows(IllegalArgumentException.class, () -> s.sample(b, b, b, 1, 4, 1f, 0, 0f));
        }
    }

    private static int[] run(float[] logits, float[] u, int rows, int vocab, float temperature, int topK, float topP) {
        try (DeviceBuffer dl = gpu.upload("logits", logits); DeviceBuffer du = gpu.upload("u", u); DeviceBuffer out = gpu.alloc("tokens", 4L * rows)) {
            new Sampling(gpu).sample(dl, du, out, rows, vocab, temperature, topK, topP);
            float[] bits = gpu.downloadFloats(out, rows);
            int[] t = new int[rows];
            for (int i = 0; i < rows; i++) {
                t[i] = Float.floatToRawIntBits(bits[i]);
            }
            return t;
        }
    }
}
