package org.llmwb.core.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

class KvCacheTest {

    @Test
    void gqa_llama31_8b_bf16() {
        // 2 (K,V) × 32 layers × 8 kv heads × 128 dims × 2 bytes = 131,072 B per token
        KvCache.Result r = KvCache.compute(ModelPresets.of("llama-3.1-8b"), Precision.BF16, 8192, 4);
        assertEquals(131_072, r.bytesPerToken());
        assertEquals(131_072.0 * 8192, r.bytesPerSequence()); // exactly 1 GiB
        assertEquals(131_072.0 * 8192 * 4, r.totalBytes());
        assertTrue(r.formulas().get(0).substituted().contains("2 × 32 × 8 × 128 × 2"));
    }

    @Test
    void mha_mqa_mla() {
        assertEquals(2 * 32 * 32 * 128 * 2, KvCache.bytesPerToken(ModelPresets.of("llama-2-7b"), Precision.FP16)); // 524,288
        assertEquals(2 * 32 * 1 * 64 * 2, KvCache.bytesPerToken(ModelPresets.of("falcon-7b"), Precision.BF16)); // MQA: 8,192
        // MLA: 61 layers × (512 latent + 64 rope) × 2 bytes = 70,272 (no factor 2: one latent serves K and V)
        assertEquals(61 * (512 + 64) * 2, KvCache.bytesPerToken(ModelPresets.of("deepseek-v3"), Precision.BF16));
    }

    @Test
    void quantizedKvIncludesScales() {
        ModelConfig m = ModelPresets.of("llama-3.1-8b");
        assertEquals(65_536, KvCache.bytesPerToken(m, Precision.FP8_E4M3)); // half of bf16
        // NVFP4: 4 bits + an 8-bit scale per 16 values = 4.5 bits = 0.5625 bytes
        assertEquals(2 * 32 * 8 * 128 * 0.5625, KvCache.bytesPerToken(m, Precision.NVFP4));
    }

    @Test
    void kvHeadsOverride() {
        ModelConfig mqa = ModelPresets.of("llama-3.1-8b").withKvHeads(1);
        assertEquals(2 * 32 * 1 * 128 * 2, KvCache.bytesPerToken(mqa, Precision.BF16));
        assertThrows(InputException.class, () -> ModelPresets.of("llama-3.1-8b").withKvHeads(3));
        assertThrows(InputException.class, () -> ModelPresets.of("deepseek-v3").withKvHeads(8));
    }

    @Test
    void rejectsNonPositive() {
        assertThrows(InputException.class, () -> KvCache.compute(ModelPresets.of("llama-2-7b"), Precision.BF16, 0, 1));
    }
}
