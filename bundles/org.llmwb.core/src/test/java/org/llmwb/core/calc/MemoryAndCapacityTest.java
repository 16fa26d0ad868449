package org.llmwb.core.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.InputException;
import org.llmwb.core.Units;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

class MemoryAndCapacityTest {
    private final GpuCatalog gpus = GpuCatalog.builtIn();

    @Test
    void weightBytesFp16AndInt4() {
        ModelConfig m = ModelPresets.of("llama-3-70b");
        // 70,553,706,496 params × 2 bytes = 141.1 GB: the "70B needs 140 GB" rule
        assertEquals(70_553_706_496L * 2.0, WeightMemory.compute(m, Precision.FP16).totalBytes());
        // INT4 g128: linear weights at 4 + 16/128 = 4.125 bits; embeddings, head, norms stay BF16
        long linear = 80L * (2L * 8192 * 8192 + 2L * 8192 * 1024 + 3L * 8192 * 28672);
        long other = 70_553_706_496L - linear;
        assertEquals(linear, m.linearParams());
        WeightMemory.Result q = WeightMemory.compute(m, Precision.INT4);
        assertEquals(linear * 4.125 / 8 + other * 2.0, q.totalBytes(), 1e-3);
        assertTrue(q.totalBytes() < 40e9 && q.totalBytes() > 35e9, "≈ 37.5 GB: " + q.totalBytes());
    }

    @Test
    void capacityOfLlama8bOnH100() {
        // usable 80 GiB × 0.9; weights 8,030,261,248 × 2; activations for 8192 tokens; KV 1 GiB per 8K sequence
        KvCapacity.Result r = KvCapacity.compute(ModelPresets.of("llama-3.1-8b"), gpus.get("h100-sxm"), Precision.BF16, Precision.BF16, 8192, 0.9);
        double usable = 80 * Units.GIB * 0.9;
        double weights = 8_030_261_248L * 2.0;
        double act = 8192.0 * (3 * 4096 + 3 * 14336) * 2 + 256.0 * 128256 * 4;
        assertEquals(1_037_303_808.0, act);
        assertEquals(usable - weights - act, r.kvBudgetBytes(), 1);
        assertEquals((long) Math.floor((usable - weights - act) / (131_072.0 * 8192)), r.maxSequences());
        assertEquals(56, r.maxSequences());
        assertTrue(r.weightsFit());
    }

    @Test
    void seventyBDoesNotFitOneH100() {
        KvCapacity.Result r = KvCapacity.compute(ModelPresets.of("llama-3-70b"), gpus.get("h100-sxm"), Precision.BF16, Precision.BF16, 4096, 0.9);
        assertFalse(r.weightsFit());
        assertEquals(0, r.maxSequences());
        assertTrue(r.kvBudgetBytes() < 0);
    }

    @Test
    void utilizationOutOfRange() {
        assertThrows(InputException.class, () -> KvCapacity.compute(ModelPresets.of("llama-2-7b"), gpus.get("h100-sxm"), Precision.BF16,
                Precision.BF16, 4096, 1.5));
    }

    @Test
    void pagingWasteByHand() {
        // lengths 1, 16, 17, 100 with block 16: blocks 1+1+2+7 = 11 → 176 slots; used 134; contiguous 4 × 128 = 512
        PagingWaste.Result r = PagingWaste.compute(new long[] {1, 16, 17, 100}, 128, 16);
        assertEquals(134, r.usedTokens());
        assertEquals(176, r.pagedAllocated());
        assertEquals(512, r.contiguousAllocated());
        assertEquals(1 - 134.0 / 176, r.pagedWaste(), 1e-12);
        assertEquals(1 - 134.0 / 512, r.contiguousWaste(), 1e-12);
        assertThrows(InputException.class, () -> PagingWaste.compute(new long[] {129}, 128, 16));
    }
}
