package org.llmwb.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Parameter counts derived from each preset's config.json, checked against the same count done by
 * hand here, and against the totals the model publishers state.
 */
class ParamCountTest {

    @Test
    void llama31_8b_gqa() {
        ModelConfig m = ModelPresets.of("llama-3.1-8b");
        long h = 4096, inter = 14336, vocab = 128256, layers = 32, kvDim = 8 * 128;
        long attn = h * h /* q */ + 2 * h * kvDim /* k, v */ + h * h /* o */; // 41,943,040
        long mlp = 3 * h * inter; // 176,160,768
        long norms = 2 * h;
        long expected = layers * (attn + mlp + norms) + 2 * vocab * h /* untied embed + head */ + h;
        assertEquals(41_943_040L, attn);
        assertEquals(expected, m.totalParams());
        assertEquals(8_030_261_248L, m.totalParams()); // Meta: 8.03B
        assertEquals(ModelConfig.Attention.GQA, m.attention());
    }

    @Test
    void llama2_7b_mha() {
        ModelConfig m = ModelPresets.of("llama-2-7b");
        long h = 4096;
        long perLayer = 4 * h * h + 3 * h * 11008 + 2 * h; // 67,108,864 + 135,266,304 + 8,192
        assertEquals(202_383_360L, perLayer);
        assertEquals(32 * perLayer + 2L * 32000 * h + h, m.totalParams());
        assertEquals(6_738_415_616L, m.totalParams()); // "7B": 6.74B
        assertEquals(ModelConfig.Attention.MHA, m.attention());
    }

    @Test
    void llama3_70b_and_405b() {
        ModelConfig m70 = ModelPresets.of("llama-3-70b");
        long h = 8192;
        long attn = 2 * h * h + 2 * h * 8 * 128;
        long perLayer = attn + 3 * h * 28672 + 2 * h;
        assertEquals(80 * perLayer + 2L * 128256 * h + h, m70.totalParams());
        assertEquals(70_553_706_496L, m70.totalParams()); // 70.6B
        ModelConfig m405 = ModelPresets.of("llama-3.1-405b");
        long h4 = 16384;
        long perLayer4 = 2 * h4 * h4 + 2 * h4 * 8 * 128 + 3 * h4 * 53248 + 2 * h4;
        assertEquals(126 * perLayer4 + 2L * 128256 * h4 + h4, m405.totalParams());
        assertTrue(Math.abs(m405.totalParams() - 405.85e9) < 0.01e9, "405B: " + m405.totalParams());
    }

    @Test
    void mixtral_moe_total_and_active() {
        ModelConfig m = ModelPresets.of("mixtral-8x7b");
        long h = 4096;
        long attn = 2 * h * h + 2 * h * 1024; // 41,943,040
        long expert = 3 * h * 14336; // 176,160,768
        long router = h * 8;
        long perLayer = attn + 8 * expert + router + 2 * h;
        long shared = 2L * 32000 * h + h;
        assertEquals(32 * perLayer + shared, m.totalParams());
        assertEquals(46_702_792_704L, m.totalParams()); // Mistral: 46.7B total
        long active = 32 * (attn + 2 * expert + router + 2 * h) + shared;
        assertEquals(active, m.activeParams());
        assertTrue(Math.abs(m.activeParams() - 12.9e9) < 0.1e9, "12.9B active: " + m.activeParams());
    }

    @Test
    void qwen25_7b_has_qkv_bias() {
        ModelConfig m = ModelPresets.of("qwen2.5-7b");
        long h = 3584, kv = 4 * 128;
        long attn = h * h + h + 2 * (h * kv + kv) + h * h; // q+bias, k/v+bias, o
        assertEquals(29_364_736L, attn);
        assertEquals(attn, m.attentionParams());
        long perLayer = attn + 3 * h * 18944 + 2 * h;
        assertEquals(28 * perLayer + 2L * 152064 * h + h, m.totalParams());
        assertEquals(7_615_616_512L, m.totalParams()); // Qwen: 7.61B
    }

    @Test
    void falcon7b_mqa_parallel_block_tied() {
        ModelConfig m = ModelPresets.of("falcon-7b");
        assertEquals(ModelConfig.Attention.MQA, m.attention());
        assertEquals(64, m.headDim()); // 4544 / 71
        long h = 4544;
        long attn = h * (h + 2 * 64) + h * h; // fused qkv (71 q heads + 1 k + 1 v) and dense
        long mlp = 2 * h * 4 * h; // GELU MLP, not gated
        long ln = 2 * h; // one LayerNorm with bias per layer (parallel attention)
        assertEquals(32 * (attn + mlp + ln) + 65024L * h /* tied */ + 2 * h, m.totalParams());
        assertEquals(6_921_720_704L, m.totalParams()); // TII: 7B (6.92B)
    }

    @Test
    void deepseekV3_mla_moe() {
        ModelConfig m = ModelPresets.of("deepseek-v3");
        assertEquals(ModelConfig.Attention.MLA, m.attention());
        long h = 7168;
        long attn = h * 1536 + 1536 /* q_a + norm */ + 1536L * 128 * 192 /* q_b */ + h * (512 + 64) + 512 /* kv_a + norm */
                + 512L * 128 * (128 + 128) /* kv_b */ + 128L * 128 * h /* o */;
        assertEquals(187_107_328L, attn);
        long expert = 3 * h * 2048;
        long moeMlp = 257 * expert + h * 256 + 256; // 256 routed + 1 shared, router + bias
        long dense = 3 * (attn + 3 * h * 18432 + 2 * h);
        long moe = 58 * (attn + moeMlp + 2 * h);
        assertEquals(dense + moe + 2L * 129280 * h + h, m.totalParams());
        assertEquals(671_026_419_200L, m.totalParams()); // DeepSeek: 671B (MTP module excluded)
        assertTrue(Math.abs(m.activeParams() - 37.5e9) < 1.0e9, "~37B active: " + m.activeParams());
    }

    @Test
    void everyPresetParses() {
        for (String id : ModelPresets.ids()) {
            ModelConfig m = ModelPresets.of(id);
            assertTrue(m.totalParams() > 1e9, id);
            assertTrue(m.linearParams() < m.totalParams(), id);
        }
    }
}
