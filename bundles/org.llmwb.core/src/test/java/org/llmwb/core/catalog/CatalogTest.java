package org.llmwb.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;
import org.llmwb.core.Units;

class CatalogTest {

    @Test
    void builtInGpusHaveDenseFiguresAndSources() {
        GpuCatalog c = GpuCatalog.builtIn();
        for (String id : List.of("h100-sxm", "h200", "a100-80gb", "b200", "mi300x", "l40s", "rtx-4090")) {
            GpuSpec g = c.get(id);
            assertTrue(g.source().startsWith("https://"), id);
            assertTrue(g.peak("bf16") > 0 && g.memoryBandwidth() > 0, id);
            assertFalse(g.isUserDefined());
        }
        GpuSpec h100 = c.get("H100-SXM");
        assertEquals(80 * Units.GIB, h100.memoryBytes());
        assertEquals(3.35e12, h100.memoryBandwidth());
        assertEquals(989.4e12, h100.peak("bf16"));
        assertEquals(450e9, h100.linkBandwidthPerDirection());
        assertEquals(0, c.get("a100-80gb").peak("fp8"));
        assertTrue(c.get("b200").peak("fp4") > 0);
    }

    @Test
    void userGpuFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("my.yaml");
        Files.writeString(f, """
                gpus:
                  - id: my-gpu
                    name: Lab card
                    memory: {gib: 32, bandwidthTBs: 1.5}
                    denseTflops: {bf16: 200}
                """);
        GpuCatalog c = GpuCatalog.withUserFiles(List.of(f));
        assertTrue(c.get("my-gpu").isUserDefined());
        assertEquals(f.toString(), c.get("my-gpu").origin());
        assertTrue(c.ids().contains("h100-sxm"));
        Files.writeString(f, "gpus:\n  - id: bad\n    memory: {gib: 32, bandwidthTBs: 0}\n    denseTflops: {bf16: 1}\n");
        InputException e = assertThrows(InputException.class, () -> GpuCatalog.withUserFiles(List.of(f)));
        assertEquals(3, e.problems().get(0).location().line(), e.getMessage());
    }

    @Test
    void unknownNamesListAlternatives() {
        assertTrue(assertThrows(InputException.class, () -> GpuCatalog.builtIn().get("h300")).getMessage().contains("h100-sxm"));
        assertTrue(assertThrows(InputException.class, () -> ModelPresets.of("llama-9")).getMessage().contains("llama-3.1-8b"));
        assertTrue(assertThrows(InputException.class, () -> Precision.parse("fp7")).getMessage().contains("nvfp4"));
    }

    @Test
    void precisionFormats() {
        assertEquals(448, Precision.FP8_E4M3.maxValue());
        assertEquals(57344, Precision.FP8_E5M2.maxValue());
        assertEquals(65504, Precision.FP16.maxValue());
        assertEquals(6, Precision.NVFP4.maxValue());
        assertEquals(4.125, Precision.INT4.bitsPerValue()); // 4 + 16/128
        assertEquals(4.5, Precision.NVFP4.bitsPerValue()); // 4 + 8/16
        assertEquals(4.15625, Precision.INT4_ASYM.bitsPerValue()); // 4 + (16 + 4)/128
        assertEquals(Math.pow(2, -6), Precision.FP8_E4M3.minNormal()); // bias 7
        assertEquals(Math.pow(2, -14), Precision.FP16.minNormal());
        assertEquals(Precision.BF16, Precision.parse("bfloat16"));
    }

    @Test
    void hfConfigErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\n  \"model_type\": \"gpt2\",\n  \"n_embd\": 768\n}\n");
        InputException e = assertThrows(InputException.class, () -> ModelPresets.resolve(dir.toString()));
        assertEquals(2, e.problems().get(0).location().line());
        assertTrue(e.getMessage().contains("unsupported model_type 'gpt2'"));
        Files.writeString(f, "{\"model_type\": \"llama\", \"hidden_size\": 64,\n \"num_attention_heads\": 4, \"num_key_value_heads\": 3,"
                + " \"num_hidden_layers\": 1, \"intermediate_size\": 8, \"vocab_size\": 10}");
        e = assertThrows(InputException.class, () -> ModelPresets.resolve(f.toString()));
        assertTrue(e.getMessage().contains("must divide"), e.getMessage());
        Files.writeString(f, "{\"model_type\": \"llama\", \"hidden_size\": 64,");
        e = assertThrows(InputException.class, () -> ModelPresets.resolve(f.toString()));
        assertTrue(e.getMessage().contains("malformed"), e.getMessage());
    }
}
