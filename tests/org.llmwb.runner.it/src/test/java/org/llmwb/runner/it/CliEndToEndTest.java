package org.llmwb.runner.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/** The CLI as a user runs it: a separate JVM, real files, exit codes, stdout/stderr. */
class CliEndToEndTest {
    @TempDir
    Path dir;

    private JsonNode json(Cli.Result r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return Json.parse(r.out());
    }

    @Test
    void kvJson() throws Exception {
        JsonNode j = json(Cli.run(dir, "kv", "--model", "llama-3.1-8b", "--context", "8192", "--precision", "bf16", "--batch", "2", "--json"));
        assertEquals(131_072, j.get("bytesPerToken").asDouble());
        assertEquals(2.0 * 131_072 * 8192, j.get("bytes").asDouble());
        assertTrue(j.get("formula").asText().contains("kvHeads × headDim"));
        JsonNode mqa = json(Cli.run(dir, "kv", "--model", "llama-3.1-8b", "--context", "1", "--kv-heads", "1", "--json"));
        assertEquals(2 * 32 * 128 * 2, mqa.get("bytesPerToken").asDouble());
    }

    @Test
    void memRooflinePlanJson() throws Exception {
        JsonNode mem = json(Cli.run(dir, "mem", "--model", "llama-3.1-8b", "--precision", "bf16", "--gpu", "h100-sxm", "--context", "8192", "--json"));
        assertEquals(8_030_261_248L * 2.0, mem.get("weightsBytes").asDouble());
        assertEquals(56, mem.get("maxSequences").asLong());
        JsonNode roof = json(Cli.run(dir, "roofline", "--gpu", "h100-sxm", "--model", "llama-3.1-8b", "--batch", "1", "--json", "--svg", "r.svg"));
        assertEquals("memory", roof.at("/decode/boundBy").asText());
        assertEquals(989.4 / 3.35, roof.get("ridge").asDouble(), 1e-6);
        assertTrue(Files.readString(dir.resolve("r.svg")).startsWith("<svg"));
        JsonNode plan = json(Cli.run(dir, "plan", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--tp", "4", "--dp", "2", "--json"));
        assertTrue(plan.get("valid").asBoolean());
        assertTrue(plan.at("/commands/vllm").asText().contains("--tensor-parallel-size 4"));
        assertTrue(plan.get("collectives").size() >= 2);
    }

    @Test
    void tokenizeTextAndJsonLines() throws Exception {
        Cli.Result mk = Cli.run(dir, "make-checkpoint", "tok-model");
        assertEquals(0, mk.code(), mk.err());
        Path tj = dir.resolve("tok-model/tokenizer.json");
        Cli.Result one = Cli.run(dir, "tokenize", "-t", tj.toString(), "the prefill step");
        assertEquals(0, one.code(), one.err());
        JsonNode ids = Json.parse(one.out());
        assertTrue(ids.isArray() && ids.size() >= 2, one.out());
        Files.writeString(dir.resolve("lines.jsonl"), "\"the prefill step\"\n\"\"\n\"KV <|end_of_text|>\"\n");
        Cli.Result many = Cli.run(dir, "tokenize", "-t", tj.toString(), "--jsonl", "lines.jsonl");
        assertEquals(0, many.code(), many.err());
        List<String> lines = many.out().lines().toList();
        assertEquals(3, lines.size(), many.out());
        assertEquals(ids, Json.parse(lines.get(0)));
        assertEquals(0, Json.parse(lines.get(1)).size());
        // a special token written in the text is that token (one id), as in HF tokenizers
        JsonNode eot = Json.parse(Cli.run(dir, "tokenize", "-t", tj.toString(), "<|end_of_text|>").out());
        assertEquals(1, eot.size());
        assertTrue(lines.get(2).endsWith("," + eot.get(0).asInt() + "]"), lines.get(2));
        Cli.Result back = Cli.run(dir, "tokenize", "-t", tj.toString(), "--decode", one.out().strip());
        assertEquals("\"the prefill step\"", back.out().strip());
        Files.writeString(dir.resolve("bad.jsonl"), "\"ok\"\n[1, 2]\n");
        Cli.Result bad = Cli.run(dir, "tokenize", "-t", tj.toString(), "--jsonl", "bad.jsonl");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("bad.jsonl:2") && bad.err().contains("expected a JSON string"), bad.err());
    }

    @Test
    void invalidPlanExitsNonZeroAndExplains() throws Exception {
        Cli.Result r = Cli.run(dir, "plan", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "3");
        assertEquals(1, r.code());
        assertTrue(r.out().contains("TP 3 does not divide the 32 attention heads"), r.out());
        assertTrue(!r.out().contains("vllm serve") && r.out().contains("engine commands: none — this plan is invalid"), "no runnable-looking commands: " + r.out());
        Cli.Result rj = Cli.run(dir, "plan", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "3", "--json");
        assertEquals(1, rj.code());
        assertEquals(0, Json.parse(rj.out()).get("commands").size());
    }

    @Test
    void badInputsGiveClearErrors() throws Exception {
        Cli.Result badFlag = Cli.run(dir, "kv", "--model", "llama-3.1-8b", "--context", "lots");
        assertEquals(2, badFlag.code());
        assertTrue(badFlag.err().contains("'lots' is not a long") && badFlag.err().contains("Usage:"), badFlag.err());
        Cli.Result unknown = Cli.run(dir, "mem", "--model", "llama-3.1-8b", "--gpu", "h300");
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().contains("unknown GPU 'h300'") && unknown.err().contains("h100-sxm"), unknown.err());
        Files.writeString(dir.resolve("config.json"), "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 64,\n  \"num_hidden_layers\": 2,\n  \"num_attention_heads\": 0\n}");
        Cli.Result cfg = Cli.run(dir, "kv", "--model", "config.json", "--context", "4");
        assertEquals(1, cfg.code());
        assertTrue(cfg.err().contains("config.json:5:") && cfg.err().contains("must be > 0"), cfg.err());
        Cli.Result missing = Cli.run(dir, "run", "nope.yaml");
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nope.yaml: error: file not found"), missing.err());
    }

    @Test
    void malformedExperimentWritesNothing() throws Exception {
        Files.writeString(dir.resolve("bad.yaml"), "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: llama-2-7b\n  context: [1, 2\n");
        Cli.Result r = Cli.run(dir, "run", "bad.yaml", "--out", "out");
        assertEquals(1, r.code());
        assertTrue(r.err().matches("(?s).*bad\\.yaml:\\d+:\\d+: error: malformed YAML.*"), r.err());
        assertFalse(Files.exists(dir.resolve("out")));
        Files.writeString(dir.resolve("typo.yaml"), "apiVersion: llmwb/v1\nkind: calculator\nspec:\n  calculator: kv\n  model: llama-2-7b\n  contxt: 5\n");
        Cli.Result t = Cli.run(dir, "run", "typo.yaml", "--out", "out");
        assertEquals(1, t.code());
        assertTrue(t.err().contains("typo.yaml:6:3: error: unknown field 'contxt' (did you mean 'context'?)"), t.err());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("bad.yaml", "typo.yaml"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void runWritesTheResultFolder() throws Exception {
        Path exp = Cli.repo().resolve("lessons/02-roofline/roofline.llmwb.yaml");
        Cli.Result r = Cli.run(dir, "run", exp.toString(), "--out", "res", "--json");
        JsonNode summary = json(r);
        assertEquals("ok", summary.get("status").asText());
        assertEquals(5, summary.get("records").asLong()); // batch 1, 4, 16, 64, 256
        Path res = dir.resolve("res");
        assertEquals(5, Files.readAllLines(res.resolve("results.jsonl")).size());
        assertEquals(6, Files.readAllLines(res.resolve("results.csv")).size());
        for (String f : List.of("summary.json", "env.json", "experiment.yaml", "roofline.svg", "roofline.csv")) {
            assertTrue(Files.isRegularFile(res.resolve(f)), f);
        }
        JsonNode env = Json.parse(Files.readString(res.resolve("env.json")));
        assertTrue(env.has("jvm") && env.has("commit") && env.at("/device/kind").asText().equals("none"));
        Cli.Result again = Cli.run(dir, "run", exp.toString(), "--out", "res");
        assertEquals(1, again.code());
        assertTrue(again.err().contains("not empty"), again.err());
    }

    @Test
    void everyShippedExperimentRuns() throws Exception {
        try (Stream<Path> s = Files.walk(Cli.repo().resolve("lessons"))) {
            List<Path> exps = s.filter(p -> p.toString().endsWith(".llmwb.yaml")).toList();
            assertTrue(exps.size() >= 5);
            for (Path e : exps) {
                String text = Files.readString(e);
                // kernel sweeps and engine runs written for the GPU are checked on the GPU backend here, which without a GPU
                // must say so in one line (the CPU paths are exercised by the other experiments and tests)
                boolean sweep = text.contains("kind: kernel-sweep") || text.contains("backend: cuda");
                // kernel sweeps are sized for a GPU: here they are checked on the GPU backend, which without a GPU must say
                // so in one line (the CPU backend is exercised by kernelSweepRunsOnTheCpuWithoutAGpu)
                Cli.Result r = sweep ? Cli.run(dir, "run", e.toString(), "--no-write", "--backend", "cuda") : Cli.run(dir, "run", e.toString(), "--no-write");
                if (sweep && r.code() == 1) {
                    assertTrue(r.err().contains("needs a GPU, but there is none here"), r.err());
                    assertEquals(1, r.err().strip().lines().count(), r.err());
                    continue;
                }
                assertEquals(0, r.code(), e + ": " + r.err());
            }
        }
    }

    @Test
    void setOverridesAndSectionsReachTheRecords() throws Exception {
        Path exp = Cli.repo().resolve("lessons/engine/speculative-decoding.llmwb.yaml");
        Cli.Result r = Cli.run(dir, "run", exp.toString(), "--out", "spec", "--set", "speculative.method=ngram", "--set", "requests=4", "--json");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(dir.resolve("spec").resolve("results.jsonl"));
        assertEquals(1, lines.size(), "the swept method was fixed by --set");
        JsonNode rec = Json.parse(lines.get(0));
        assertEquals(4, rec.get("completed").asInt());
        assertEquals("ngram", rec.at("/speculative/method").asText());
        assertTrue(rec.at("/speculative/verifies").asLong() > 0, rec.toString());
        assertTrue(rec.get("speculativeNote").asText().contains("random weights"));
        assertTrue(Files.readString(dir.resolve("spec").resolve("experiment.yaml")).contains("# run with: --set speculative.method=ngram"));
        Cli.Result bad = Cli.run(dir, "run", exp.toString(), "--no-write", "--set", "speculative.methd=ngram");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("'speculative.methd' is not a setting") && bad.err().contains("speculative.method"), bad.err());
        Cli.Result badValue = Cli.run(dir, "run", exp.toString(), "--no-write", "--set", "speculative.method=medusa");
        assertEquals(1, badValue.code());
        assertTrue(badValue.err().contains("must be one of [none, ngram, layer-skip, draft-model]"), badValue.err());
    }

    @Test
    void kernelSweepRunsOnTheCpuWithoutAGpu() throws Exception {
        Path exp = Cli.repo().resolve("lessons/kernels/laptop-attention.llmwb.yaml");
        Cli.Result r = Cli.run(dir, "run", exp.toString(), "--out", "cpu", "--backend", "cpu", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, json(r).get("records").asLong());
        Path res = dir.resolve("cpu");
        for (String line : Files.readAllLines(res.resolve("results.jsonl"))) {
            JsonNode rec = Json.parse(line);
            assertEquals("cpu", rec.get("backend").asText());
            assertTrue(rec.get("medianMs").asDouble() > 0 && rec.get("bytes").asDouble() > 0 && rec.get("flops").asDouble() > 0, line);
            // checked against the double-precision reference, inputs rounded to bf16 and computed in FP32
            assertTrue(rec.get("maxRelErr").asDouble() < 1e-5, line);
            assertTrue(rec.get("roofBandwidth").asDouble() > 1e8 && rec.get("roofPeakFlops").asDouble() > 1e8, line);
        }
        String svg = Files.readString(res.resolve("roofline.svg"));
        assertTrue(svg.contains("FP32 GEMM (ND4J)") && svg.contains("(measured)") && svg.contains("decode_attention"), svg.substring(0, 400));
        JsonNode env = Json.parse(Files.readString(res.resolve("env.json")));
        assertEquals("cpu", env.at("/device/kind").asText());
        Cli.Result bad = Cli.run(dir, "run", exp.toString(), "--no-write", "--backend", "tpu");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--backend is auto, cuda or cpu, not 'tpu'"), bad.err());
    }

    @Test
    void engineRunWritesLatencyTablesRequestsAndSteps() throws Exception {
        Path exp = Cli.repo().resolve("lessons/04-paged-attention/engine.llmwb.yaml");
        Cli.Result r = Cli.run(dir, "run", exp.toString(), "--out", "eng", "--json");
        assertEquals(0, r.code(), r.err());
        Path res = dir.resolve("eng");
        List<String> lines = Files.readAllLines(res.resolve("results.jsonl"));
        assertEquals(2, lines.size());
        JsonNode contiguous = Json.parse(lines.get(0));
        JsonNode paged = Json.parse(lines.get(1));
        assertEquals("contiguous", contiguous.get("kv").asText());
        for (JsonNode rec : List.of(contiguous, paged)) {
            assertEquals(24, rec.get("completed").asInt());
            assertTrue(rec.get("ttft_ms_p99").asDouble() >= rec.get("ttft_ms_p50").asDouble(), rec.toString());
            assertTrue(rec.get("outputTokensPerS").asDouble() > 0);
            assertEquals("cpu", rec.get("backend").asText());
        }
        // maximum-length reservations waste most of what they allocate; paging only the tail of each last block
        assertTrue(contiguous.get("kvWasteFraction").asDouble() > 0.6, contiguous.toString());
        assertTrue(paged.get("kvWasteFraction").asDouble() < contiguous.get("kvWasteFraction").asDouble() / 2, paged.toString());
        assertTrue(Files.readString(res.resolve("latency-1.txt")).contains("ttft_ms"));
        assertEquals(25, Files.readAllLines(res.resolve("requests-2.csv")).size());
        String firstStep = Files.readAllLines(res.resolve("steps-2.jsonl")).get(0);
        assertTrue(firstStep.contains("\"kind\":\"prefill\"") && firstStep.contains("usedBlocks"), firstStep);
        Cli.Result gpu = Cli.run(dir, "run", exp.toString(), "--no-write", "--backend", "cuda");
        assertEquals(1, gpu.code());
        assertTrue(gpu.err().contains("backend cuda runs the engine on our CUDA kernels and needs a GPU, but there is none here"), gpu.err());
    }

    @Test
    void makeCheckpointThenGenerateGreedily() throws Exception {
        Cli.Result mk = Cli.run(dir, "make-checkpoint", "ck", "--shards", "2", "--seed", "5");
        assertEquals(0, mk.code(), mk.err());
        for (String f : List.of("config.json", "tokenizer.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors")) {
            assertTrue(Files.isRegularFile(dir.resolve("ck").resolve(f)), f);
        }
        Cli.Result a = Cli.run(dir, "generate", "-m", "ck", "-p", "Paged attention keeps", "--max-tokens", "6", "--block-size", "4");
        assertEquals(0, a.code(), a.err());
        assertTrue(a.out().startsWith("Paged attention keeps"), a.out());
        assertTrue(a.err().contains("prefill") && a.err().contains("ms/token"), a.err());
        // greedy decoding is deterministic, and the block size changes where KV lives, not what comes out
        Cli.Result b = Cli.run(dir, "generate", "-m", "ck", "-p", "Paged attention keeps", "--max-tokens", "6", "--block-size", "16");
        assertEquals(a.out(), b.out());
        Cli.Result again = Cli.run(dir, "make-checkpoint", "ck");
        assertEquals(1, again.code());
        Files.writeString(dir.resolve("ck").resolve("tokenizer.json"), "{\"model\": ");
        Cli.Result broken = Cli.run(dir, "generate", "-m", "ck", "-p", "x");
        assertEquals(1, broken.code());
        assertTrue(broken.err().contains("tokenizer.json") && broken.err().contains("not a valid tokenizer.json"), broken.err());
    }

    @Test
    void helpAndVersion() throws Exception {
        Cli.Result h = Cli.run(dir, "--help");
        assertEquals(0, h.code());
        for (String c : List.of("kv", "mem", "roofline", "plan", "run", "serve", "models", "gpus")) {
            assertTrue(h.out().contains(c), c);
        }
        for (String c : List.of("kv", "mem", "roofline", "plan", "run", "serve", "ceilings", "kernel-report")) {
            Cli.Result sub = Cli.run(dir, c, "--help");
            assertEquals(0, sub.code(), c + " --help: " + sub.err());
            assertTrue(sub.out().startsWith("Usage: llmwb " + c), c + " --help: " + sub.out());
        }
        JsonNode models = json(Cli.run(dir, "models", "--json"));
        assertTrue(models.size() >= 10);
    }

    @Test
    void repeatedEnginePointsReportTheirMedianRunAndSpread() throws Exception {
        Files.writeString(dir.resolve("rep.llmwb.yaml"), "apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: poisson\n  model: tiny\n  requests: 4\n  rate: 100\n"
                + "  promptTokens: 12\n  outputTokens: 4\n  repeats: 3\n  sweep:\n    batching: [static, continuous]\n");
        Cli.Result r = Cli.run(dir, 300, "run", "rep.llmwb.yaml", "--out", "rep");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(dir.resolve("rep/results.jsonl"));
        assertEquals(2, lines.size(), "one record per point, not per run");
        for (String line : lines) {
            JsonNode rec = Json.parse(line);
            assertEquals(3, rec.get("repeats").asInt());
            assertEquals(3, rec.get("outputTokensPerS_runs").size());
            List<Double> runs = new java.util.ArrayList<>();
            rec.get("outputTokensPerS_runs").forEach(x -> runs.add(x.asDouble()));
            java.util.Collections.sort(runs);
            assertEquals(runs.get(1), rec.get("outputTokensPerS").asDouble(), 1e-9, "the record is the median run");
            assertEquals(runs.get(0), rec.get("outputTokensPerS_min").asDouble(), 1e-9);
            assertEquals(runs.get(2), rec.get("outputTokensPerS_max").asDouble(), 1e-9);
        }
        Files.writeString(dir.resolve("bad.llmwb.yaml"), "apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: poisson\n  model: tiny\n  sweep:\n    repeats: [1, 2]\n");
        Cli.Result bad = Cli.run(dir, "run", "bad.llmwb.yaml", "--out", "bad");
        assertEquals(1, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("'repeats' cannot be swept"), bad.err());
    }

    @Test
    void simulateServesAClusterAndRefusesBadLayouts() throws Exception {
        JsonNode sim = json(Cli.run(dir, "simulate", "-m", "llama-3.1-8b", "-g", "h100-sxm", "--replicas", "2", "--num-requests", "200", "--request-rate", "20",
                "--json"));
        assertEquals(2, sim.get("gpus").asInt());
        assertEquals(200, sim.at("/metrics/requests").asInt());
        assertTrue(sim.get("outputTokensPerSPerGpu").asDouble() > 0);
        JsonNode dis = json(Cli.run(dir, "simulate", "-m", "llama-3.1-8b", "-g", "h100-sxm", "--prefill-replicas", "1", "--replicas", "1", "--num-requests", "50",
                "--json"));
        assertEquals(2, dis.get("gpus").asInt());
        assertTrue(dis.get("meanKvTransferMs").asDouble() > 0);
        Cli.Result fit = Cli.run(dir, "simulate", "-m", "llama-3-70b", "-g", "h100-sxm");
        assertEquals(1, fit.code());
        assertTrue(fit.err().contains("does not fit"), fit.err());
        Cli.Result router = Cli.run(dir, "simulate", "-m", "llama-3.1-8b", "-g", "h100-sxm", "--router", "random");
        assertEquals(1, router.code());
        assertTrue(router.err().contains("round-robin, least-outstanding, kv-aware"), router.err());
    }

    @Test
    void oneTraceThroughTheEngineAndTheSimulatorComparedSideBySide() throws Exception {
        // a Mooncake-form trace (timestamp ms, input_length, output_length, hash_ids): the engine reads it as the simulator does
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            t.append("{\"timestamp\": ").append(i * 150).append(", \"input_length\": ").append(24 + 8 * (i % 3)).append(", \"output_length\": 6, \"hash_ids\": []}\n");
        }
        Files.writeString(dir.resolve("trace.jsonl"), t.toString());
        assertEquals(0, Cli.run(dir, "make-checkpoint", "ck").code());
        Files.writeString(dir.resolve("engine.llmwb.yaml"), "apiVersion: llmwb/v1\nkind: engine-run\nspec:\n  workload: trace\n  trace: trace.jsonl\n  model: ck\n  maxSeqs: 8\n");
        Cli.Result run = Cli.run(dir, "run", "engine.llmwb.yaml", "--out", "engine");
        assertEquals(0, run.code(), run.out() + run.err());
        JsonNode eng = Json.parse(Files.readAllLines(dir.resolve("engine/results.jsonl")).get(0));
        assertEquals(12, eng.get("completed").asInt(), "every trace request ran");
        assertEquals(72, eng.get("outputTokens").asInt(), "each with the trace's output length");
        Cli.Result sim = Cli.run(dir, "simulate", "-m", "ck/config.json", "-g", "h100-sxm", "--trace", "trace.jsonl", "--json"); // --trace: workload trace
        assertEquals("trace", Json.parse(sim.out()).get("workload").asText(), sim.err());
        assertEquals(12, Json.parse(sim.out()).get("completed").asInt());
        assertEquals(0, sim.code(), sim.err());
        Files.writeString(dir.resolve("sim.json"), sim.out());
        Cli.Result cmp = Cli.run(dir, "compare", "engine", "roofline=sim.json", "--out", "cmp", "--json");
        assertEquals(0, cmp.code(), cmp.out() + cmp.err());
        JsonNode c = json(cmp);
        assertEquals("engine", c.at("/sources/0/kind").asText());
        assertEquals("simulated", c.at("/sources/1/kind").asText());
        assertEquals("roofline", c.at("/sources/1/label").asText());
        JsonNode row = c.at("/rows/0");
        assertEquals("ttft_ms_p50", row.get("field").asText());
        double e = eng.get("ttft_ms_p50").asDouble();
        double s = Json.parse(sim.out()).get("ttft_ms_p50").asDouble();
        assertEquals(e, row.at("/values/0").asDouble(), 1e-9);
        assertEquals((s - e) / e, row.at("/relativeDifference/1").asDouble(), 1e-9);
        for (String f : List.of("comparison.md", "summary.json", "ttft_cdf.svg", "itl_cdf.svg")) {
            assertTrue(Files.isRegularFile(dir.resolve("cmp").resolve(f)), f);
        }
        Cli.Result one = Cli.run(dir, "compare", "sim.json", "trace.jsonl");
        assertEquals(1, one.code(), one.out() + one.err());
        assertTrue(one.err().contains("trace.jsonl: error: no serving records in it"), one.err());
    }

    @Test
    void trainingMemoryFromTheCommandLine() throws Exception {
        JsonNode z1 = json(Cli.run(dir, "train", "--params", "7.5e9", "--dp", "64", "--zero", "1", "--json"));
        assertEquals(31.4e9, z1.get("modelStatesBytes").asDouble(), 0.05e9, "the ZeRO paper's 7.5B model on 64 GPUs, stage 1");
        JsonNode big = json(Cli.run(dir, "train", "-m", "llama-3-70b", "--gpus", "64", "--tp", "8", "--pp", "2", "--sp", "--recompute", "selective",
                "--micro-batches", "16", "-g", "h100-sxm", "--json"));
        assertEquals(4, big.at("/parallel/dp").asInt(), "DP derived from --gpus");
        assertTrue(big.get("activationBytes").asDouble() > 0 && big.get("communication").size() >= 3, big.toString());
        assertEquals(big.get("modelStatesBytes").asDouble() + big.get("activationBytes").asDouble(), big.get("totalBytes").asDouble(), 1);
        Cli.Result bad = Cli.run(dir, "train", "-m", "llama-3.1-8b", "--gpus", "10", "--tp", "4");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--gpus 10 is not DP × TP × PP × CP"), bad.err());
        Cli.Result neither = Cli.run(dir, "train");
        assertEquals(1, neither.code());
        assertTrue(neither.err().contains("give --model or --params"), neither.err());
    }
}
