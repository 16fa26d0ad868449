package org.llmwb.core.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.catalog.GpuCatalog;

class ExperimentParserTest {
    private final GpuCatalog gpus = GpuCatalog.builtIn();

    private static final String GOOD = """
            apiVersion: llmwb/v1
            kind: calculator
            metadata:
              name: kv-sweep
            spec:
              calculator: kv
              model: llama-3.1-8b
              kvPrecision: fp8
              sweep:
                context: [1024, 4096]
                batch: {from: 1, to: 8, factor: 2}
            """;

    @Test
    void parsesAndRunsTheCrossProduct() {
        Experiment e = ExperimentParser.parse(GOOD, "good.yaml", null, gpus);
        assertEquals("kv-sweep", e.name());
        assertEquals(8, e.sweep().points()); // 2 contexts × batches 1, 2, 4, 8
        List<Map<String, Object>> out = new ArrayList<>();
        long n = new CalculatorRun(e, gpus).run((i, total, r) -> out.add(r), () -> false);
        assertEquals(8, n);
        assertEquals(1024L, out.get(0).get("context"));
        assertEquals(8L, out.get(3).get("batch")); // last key varies fastest
        assertEquals(4096L, out.get(4).get("context"));
        // 2 × 32 × 8 × 128 × 1 byte (fp8) × 4096 × 8
        assertEquals(65_536.0 * 4096 * 8, (double) out.get(7).get("bytes"));
    }

    @Test
    void reportsEveryProblemWithLineAndColumn() {
        String bad = """
                apiVersion: llmwb/v1
                kind: calculator
                spec:
                  calculator: kv
                  modle: llama-3.1-8b
                  context: -5
                  kvPrecision: fp7
                  sweep:
                    batch: []
                """;
        List<Problem> ps = ExperimentParser.validate(bad, "bad.yaml", null, gpus);
        String all = ps.toString();
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 5 && p.message().contains("did you mean 'model'")), all);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 6 && p.message().contains("must be > 0")), all);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 7 && p.message().contains("unknown precision 'fp7'")), all);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 9 && p.message().contains("empty")), all);
        assertTrue(ps.stream().anyMatch(p -> p.message().contains("needs 'model'")), all);
        assertTrue(ps.stream().allMatch(p -> p.toString().startsWith("bad.yaml:")), all);
    }

    @Test
    void unknownKindAndVersion() {
        List<Problem> ps = ExperimentParser.validate("apiVersion: llmwb/v2\nkind: calculater\nspec: {}\n", "k.yaml", null, gpus);
        assertEquals(1, ps.get(0).location().line());
        assertTrue(ps.get(0).message().contains("llmwb/v2"));
        assertEquals(2, ps.get(1).location().line());
        assertEquals(7, ps.get(1).location().column());
        assertTrue(ps.get(1).message().contains("did you mean 'calculator'"), ps.toString());
    }

    @Test
    void engineRunSettingsAreCheckedWhereTheyAre() {
        List<Problem> ok = ExperimentParser.validate("apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: poisson\n  model: tiny\n  rate: 2.5\n"
                + "  sweep:\n    batching: [static, continuous]\n", "e.yaml", null, gpus);
        assertTrue(ok.isEmpty(), ok.toString());
        List<Problem> ps = ExperimentParser.validate("apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: trace\n  rate: -1\n  batching: contiuous\n"
                + "  model: /nowhere/at/all\n", "e.yaml", null, gpus);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 5 && p.message().contains("> 0")), ps.toString());
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 6 && p.message().contains("did you mean 'continuous'")), ps.toString());
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 7 && p.message().contains("config.json")), ps.toString());
        assertTrue(ps.stream().anyMatch(p -> p.message().contains("workload 'trace' needs 'trace'")), ps.toString());
    }

    @Test
    void malformedYamlHasAPosition() {
        InputException e = assertThrows(InputException.class,
                () -> ExperimentParser.parse("apiVersion: llmwb/v1\nkind: [calculator\nspec: x\n", "m.yaml", null, gpus));
        assertTrue(e.problems().get(0).location().line() >= 2, e.getMessage());
        assertTrue(e.getMessage().startsWith("m.yaml:"), e.getMessage());
    }

    @Test
    void relativeConfigJsonResolvesAgainstTheExperiment(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tiny.json"), """
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 100}
                """);
        Path exp = dir.resolve("e.yaml");
        Files.writeString(exp, "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: tiny.json\n  context: 10\n");
        Experiment e = ExperimentParser.parseFile(exp, gpus);
        AtomicInteger n = new AtomicInteger();
        new CalculatorRun(e, gpus).run((i, t, r) -> {
            // 2 × 2 layers × 2 kv heads × 16 dims × 2 bytes = 256 B/token
            assertEquals(256.0, (double) r.get("bytesPerToken"));
            n.incrementAndGet();
        }, () -> false);
        assertEquals(1, n.get());
    }

    @Test
    void brokenConfigJsonErrorPointsIntoIt(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("broken.json"), "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 64,\n  \"num_attention_heads\": 5,\n"
                + "  \"num_hidden_layers\": 2, \"intermediate_size\": 8, \"vocab_size\": 10\n}\n");
        List<Problem> ps = ExperimentParser.validate("apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: broken.json\n  context: 4\n",
                "e.yaml", dir, gpus);
        assertEquals(1, ps.size(), ps.toString());
        assertTrue(ps.get(0).location().source().endsWith("broken.json"), ps.toString());
        assertEquals(4, ps.get(0).location().line());
    }

    @Test
    void cancellationStopsBetweenPoints() {
        String big = "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: llama-2-7b\n  sweep:\n    context: {from: 1, to: 1000000}\n";
        Experiment e = ExperimentParser.parse(big, "big.yaml", null, gpus);
        AtomicInteger seen = new AtomicInteger();
        long n = new CalculatorRun(e, gpus).run((i, t, r) -> seen.incrementAndGet(), () -> seen.get() >= 10);
        assertEquals(10, n);
    }

    @Test
    void didYouMeanDistance() {
        assertEquals(1, ExperimentParser.distance("modle", "mode"));
        assertEquals(2, ExperimentParser.distance("modle", "model"));
    }

    @Test
    void kernelSweepSchema() {
        String ok = """
                apiVersion: llmwb/v1
                kind: kernel-sweep
                metadata: {name: gemv-formats}
                spec:
                  op: gemv
                  n: 14336
                  k: 4096
                  partition: 0
                  sweep:
                    version: [bf16, w8a16, w4a16]
                    batch: [1, 4, 16]
                """;
        Experiment e = ExperimentParser.parse(ok, "ok.yaml", null, gpus);
        assertEquals("gemv", e.sweep().target());
        assertEquals(9, e.sweep().points());
        List<Map<String, Object>> pts = new ArrayList<>();
        e.sweep().walk(() -> false, (i, p) -> pts.add(p));
        assertEquals("w8a16", pts.get(3).get("version"));
        assertEquals(16, pts.get(8).get("batch"));
        String bad = """
                apiVersion: llmwb/v1
                kind: kernel-sweep
                spec:
                  op: gemm
                  version: w3a16
                  partition: -1
                """;
        List<Problem> ps = ExperimentParser.validate(bad, "bad.yaml", null, gpus);
        String all = ps.toString();
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 4 && p.message().contains("unknown op 'gemm' (did you mean 'gemv'?)")), all);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 5 && p.message().contains("must be one of")), all);
        assertTrue(ps.stream().anyMatch(p -> p.location().line() == 6 && p.message().contains(">= 0")), all);
        List<Problem> missing = ExperimentParser.validate("apiVersion: llmwb/v1\nkind: kernel-sweep\nspec:\n  op: decode_attention\n", "m.yaml", null, gpus);
        assertTrue(missing.toString().contains("op 'decode_attention' needs 'context'"), missing.toString());
    }
}
