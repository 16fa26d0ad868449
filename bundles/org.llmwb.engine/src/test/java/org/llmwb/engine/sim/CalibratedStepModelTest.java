package org.llmwb.engine.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;
import org.llmwb.core.result.Json;
import org.llmwb.engine.model.SeqInput;

class CalibratedStepModelTest {
    /**
     * Steps of a made-up device: 2 ms + 10 us/token + 30 us/sequence + 50 us per 1K decode context + 400 us per M prefill
     * pairs + 1.5 ms for a step that holds a prompt chunk.
     */
    static final double[] TRUE = {2e-3, 10e-6, 30e-6, 50e-6, 400e-6, 1.5e-3};

    static List<int[][]> shapes() {
        List<int[][]> out = new ArrayList<>();
        Random r = new Random(5);
        for (int i = 0; i < 200; i++) {
            int n = 1 + r.nextInt(32);
            int[] counts = new int[n];
            int[] past = new int[n];
            for (int s = 0; s < n; s++) {
                boolean prefill = r.nextInt(6) == 0;
                counts[s] = prefill ? 16 + r.nextInt(1000) : 1;
                past[s] = r.nextInt(4000);
            }
            out.add(new int[][] {counts, past});
        }
        return out;
    }

    static List<double[]> noiselessFeatures() {
        List<double[]> x = new ArrayList<>();
        for (int[][] sh : shapes()) {
            x.add(CalibratedStepModel.features(sh[0], sh[1]));
        }
        return x;
    }

    static double truth(double[] f) {
        double s = 0;
        for (int i = 0; i < f.length; i++) {
            s += TRUE[i] * f[i];
        }
        return s;
    }

    @Test
    void theFitRecoversTheCoefficientsOfNoiselessSteps() {
        List<double[]> x = noiselessFeatures();
        double[] ys = x.stream().mapToDouble(CalibratedStepModelTest::truth).toArray();
        CalibratedStepModel m = CalibratedStepModel.fit(x, ys, "made-up", "m");
        double[] c = m.coefficients();
        for (int i = 0; i < TRUE.length; i++) {
            assertEquals(TRUE[i], c[i], TRUE[i] * 1e-6, CalibratedStepModel.FEATURES.get(i));
        }
        assertTrue(m.rmsRelError() < 1e-9);
        // and it predicts a step the engine would hand the simulator
        List<SeqInput> step = List.of(new SeqInput(new int[] {5}, 999, new int[64]), new SeqInput(new int[100], 20, new int[64]));
        double[] f = CalibratedStepModel.features(new int[] {1, 100}, new int[] {999, 20});
        assertEquals(truth(f), m.seconds(step), 1e-12);
    }

    @Test
    void oneOffStepsAreLeftOutOfTheFit() {
        // a few steps 10x slower than their work (a CUDA graph captured for a new batch size): left out, not averaged in
        List<double[]> x = noiselessFeatures();
        double[] ys = x.stream().mapToDouble(CalibratedStepModelTest::truth).toArray();
        for (int i = 0; i < ys.length; i += 25) {
            ys[i] *= 10;
        }
        CalibratedStepModel m = CalibratedStepModel.fit(x, ys, "made-up", "m");
        assertEquals(8, m.outliers(), m.describe());
        double[] c = m.coefficients();
        for (int i = 0; i < TRUE.length; i++) {
            assertEquals(TRUE[i], c[i], TRUE[i] * 1e-6, CalibratedStepModel.FEATURES.get(i));
        }
        assertTrue(m.describe().contains("8 one-off steps left out"), m.describe());
    }

    @Test
    void coefficientsStayNonNegativeWhenTheDataSuggestNegative() {
        // time falls with the context (nonsense a noisy profile can show): the fit drops that feature rather than go negative
        List<double[]> x = new ArrayList<>();
        double[] y = new double[40];
        for (int i = 0; i < 40; i++) {
            double[] f = CalibratedStepModel.features(new int[] {1, 1}, new int[] {100 * i, 100 * i});
            x.add(f);
            y[i] = 5e-3 - 2e-6 * i + 1e-4 * (i % 3);
        }
        CalibratedStepModel m = CalibratedStepModel.fit(x, y, "d", "m");
        for (double c : m.coefficients()) {
            assertTrue(c >= 0, java.util.Arrays.toString(m.coefficients()));
        }
        assertEquals(0.0, m.coefficients()[3], 0.0);
    }

    @Test
    void aProfileFileRoundTripsAndBadOnesAreLocatedErrors(@TempDir Path dir) throws Exception {
        List<double[]> x = noiselessFeatures();
        double[] ys = x.stream().mapToDouble(CalibratedStepModelTest::truth).toArray();
        CalibratedStepModel m = CalibratedStepModel.fit(x, ys, "made-up GPU", "m");
        Path f = dir.resolve("p.json");
        Files.writeString(f, Json.pretty(m.toJson(x, ys)));
        CalibratedStepModel back = CalibratedStepModel.read(f);
        assertEquals(m.coefficients()[0], back.coefficients()[0], 0.0);
        assertTrue(back.describe().contains("made-up GPU"), back.describe());
        // a profile written before the prefill-step feature: read with no per-prefill-step cost
        Files.writeString(f, "{\"kind\": \"step-profile\", \"secondsPer\": {\"step\": 0.001, \"newTokens\": 0, \"sequences\": 0, \"decodeContextK\": 0, \"prefillAttentionM\": 0}}");
        assertEquals(0.0, CalibratedStepModel.read(f).coefficients()[5], 0.0);
        Files.writeString(f, "{\"kind\": \"step-profile\", \"secondsPer\": {\"step\": 0.001}}");
        InputException e = assertThrows(InputException.class, () -> CalibratedStepModel.read(f));
        assertTrue(e.getMessage().contains("p.json") && e.getMessage().contains("secondsPer.newTokens"), e.getMessage());
        Files.writeString(f, "not json");
        assertThrows(InputException.class, () -> CalibratedStepModel.read(f));
    }
}
