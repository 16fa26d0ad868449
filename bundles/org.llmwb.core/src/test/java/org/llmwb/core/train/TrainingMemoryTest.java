package org.llmwb.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.train.TrainingMemory.Input;
import org.llmwb.core.train.TrainingMemory.Optimizer;
import org.llmwb.core.train.TrainingMemory.Recompute;
import org.llmwb.core.train.TrainingMemory.Result;
import org.llmwb.core.train.TrainingMemory.Schedule;

/** The training planner's memory against published figures and formulas. */
class TrainingMemoryTest {
    static Input params(long psi, int dp, int zero, Optimizer opt) {
        return new Input(null, psi, dp, 1, 1, 1, 1, zero, false, opt, 1, 2048, 1, Recompute.NONE, false, Schedule.ONE_F_ONE_B, 1);
    }

    @Test
    void mixedPrecisionAdamIsSixteenBytesPerParameter() {
        Result r = TrainingMemory.compute(params(1_000_000_000L, 1, 0, Optimizer.ADAM));
        assertEquals(16e9, r.modelStatesBytes(), 1e-3);
        assertEquals(2e9, r.weightsBytes(), 1e-3);
        assertEquals(12e9, r.optimizerBytes(), 1e-3);
    }

    /** ZeRO paper (Rajbhandari et al. 2020), Figure 1: Ψ = 7.5B, N_d = 64, K = 12. */
    @Test
    void zeroStagesReproduceThePapersExample() {
        long psi = 7_500_000_000L;
        assertEquals(120e9, TrainingMemory.compute(params(psi, 64, 0, Optimizer.ADAM)).modelStatesBytes(), 1e6);
        assertEquals(31.4e9, TrainingMemory.compute(params(psi, 64, 1, Optimizer.ADAM)).modelStatesBytes(), 0.05e9);
        assertEquals(16.6e9, TrainingMemory.compute(params(psi, 64, 2, Optimizer.ADAM)).modelStatesBytes(), 0.05e9);
        assertEquals(1.9e9, TrainingMemory.compute(params(psi, 64, 3, Optimizer.ADAM)).modelStatesBytes(), 0.05e9);
        Input off = new Input(null, psi, 64, 1, 1, 1, 1, 2, true, Optimizer.ADAM, 1, 2048, 1, Recompute.NONE, false, Schedule.ONE_F_ONE_B, 1);
        Result r = TrainingMemory.compute(off);
        assertEquals(0, r.optimizerBytes(), 0.0);
        assertEquals(12 * psi / 64.0, r.optimizerOffloadedBytes(), 1);
    }

    /** A GPT-3 175B layer as in Korthikanti et al. 2022 (a = 96, h = 12288, s = 2048, b = 1, t = 8), Table 2's formulas. */
    @Test
    void activationsFollowTheMegatronFormulas() {
        ModelConfig gpt3 = new ModelConfig("gpt3-175b", "gpt", null, 12288, 4 * 12288, 96, 96, 96, 128, 51200, true, 2048, 10000, false, true, true, 2, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0);
        double sbh = 2048.0 * 1 * 12288;
        double scores = 5.0 * 96 * 2048 / 12288; // 5as/h = 80
        assertEquals(sbh * (34 + scores), layer(gpt3, 1, false, Recompute.NONE), 1, "no parallelism: sbh(34 + 5as/h)");
        assertEquals(sbh * (10 + 24 / 8.0 + scores / 8), layer(gpt3, 8, false, Recompute.NONE), 1, "TP: sbh(10 + 24/t + 5as/(ht))");
        assertEquals(sbh * (34 / 8.0 + scores / 8), layer(gpt3, 8, true, Recompute.NONE), 1, "TP + SP: sbh(34/t + 5as/(ht))");
        assertEquals(sbh * (10 + 24 / 8.0), layer(gpt3, 8, false, Recompute.SELECTIVE), 1, "selective: sbh(10 + 24/t)");
        assertEquals(sbh * 34 / 8.0, layer(gpt3, 8, true, Recompute.SELECTIVE), 1, "selective + SP: sbh·34/t");
        assertEquals(sbh * 2 / 8.0, layer(gpt3, 8, true, Recompute.FULL), 1, "full recomputation with SP: 2sbh/t");
        // 1F1B: the first stage holds p micro-batches of L/p layers, so L layers' worth whatever p
        Input pp = new Input(gpt3, 0, 1, 8, 8, 1, 1, 0, false, Optimizer.ADAM, 1, 2048, 64, Recompute.SELECTIVE, true, Schedule.ONE_F_ONE_B, 1);
        assertEquals(96 * sbh * 34 / 8.0, TrainingMemory.compute(pp).activationBytes(), 1e3);
    }

    static double layer(ModelConfig m, int tp, boolean sp, Recompute rc) {
        Input in = new Input(m, 0, 1, tp, 1, 1, 1, 0, false, Optimizer.ADAM, 1, 2048, 1, rc, sp, Schedule.ONE_F_ONE_B, 1);
        return TrainingMemory.compute(in).activationBytesPerLayer();
    }

    @Test
    void pipelineBubbleIsTheScheduleFormula() {
        ModelConfig m = ModelPresets.resolve("llama-3.1-8b");
        Input p4m8 = new Input(m, 0, 1, 1, 4, 1, 1, 0, false, Optimizer.ADAM, 1, 4096, 8, Recompute.FULL, false, Schedule.ONE_F_ONE_B, 1);
        assertEquals(3.0 / 11, TrainingMemory.compute(p4m8).bubbleFraction(), 1e-12, "(p − 1)/(m + p − 1)");
        Input inter = new Input(m, 0, 1, 1, 4, 1, 1, 0, false, Optimizer.ADAM, 1, 4096, 8, Recompute.FULL, false, Schedule.INTERLEAVED, 2);
        assertEquals(3.0 / 19, TrainingMemory.compute(inter).bubbleFraction(), 1e-12, "(p − 1)/(v·m + p − 1)");
        Input gpipe = new Input(m, 0, 1, 1, 4, 1, 1, 0, false, Optimizer.ADAM, 1, 4096, 8, Recompute.FULL, false, Schedule.GPIPE, 1);
        assertEquals(8.0 / 4 * TrainingMemory.compute(p4m8).activationBytes(), TrainingMemory.compute(gpipe).activationBytes(), 1,
                "GPipe holds all m micro-batches, 1F1B p of them");
    }

    @Test
    void modelParallelismAndZeroThreeDivideTheStatesAndTheTrafficIsListed() {
        ModelConfig m = ModelPresets.resolve("llama-3-70b");
        Input in = new Input(m, 0, 4, 8, 2, 1, 1, 3, false, Optimizer.ADAM, 1, 4096, 8, Recompute.SELECTIVE, true, Schedule.ONE_F_ONE_B, 1);
        Result r = TrainingMemory.compute(in);
        assertEquals(16.0 * m.totalParams() / (8 * 2) / 4, r.modelStatesBytes(), 1e3);
        assertEquals(64, in.gpus());
        assertTrue(r.comms().stream().anyMatch(c -> c.group().equals("TP") && c.collective().contains("reduce-scatter")), r.comms().toString());
        assertTrue(r.comms().stream().anyMatch(c -> c.group().equals("PP")));
        assertEquals(3, r.comms().stream().filter(c -> c.group().equals("DP×CP")).count(), "ZeRO-3: gather twice, reduce-scatter once");
    }

    @Test
    void impossibleLayoutsAreRefused() {
        ModelConfig m = ModelPresets.resolve("llama-3.1-8b");
        assertThrows(IllegalArgumentException.class, () -> new Input(m, 0, 1, 3, 1, 1, 1, 0, false, Optimizer.ADAM, 1, 4096, 1, Recompute.NONE, false, Schedule.ONE_F_ONE_B, 1));
        assertThrows(IllegalArgumentException.class, () -> new Input(m, 0, 1, 1, 1, 1, 1, 4, false, Optimizer.ADAM, 1, 4096, 1, Recompute.NONE, false, Schedule.ONE_F_ONE_B, 1));
        assertThrows(IllegalArgumentException.class, () -> new Input(m, 0, 1, 1, 1, 1, 1, 0, false, Optimizer.ADAM, 1, 4096, 1, Recompute.NONE, true, Schedule.ONE_F_ONE_B, 1));
        assertThrows(IllegalArgumentException.class, () -> new Input(m, 0, 1, 1, 1, 1, 2, 0, false, Optimizer.ADAM, 1, 4096, 1, Recompute.NONE, false, Schedule.ONE_F_ONE_B, 1));
        assertThrows(IllegalArgumentException.class, () -> Optimizer.parse("lion"));
    }
}
