package org.llmwb.runner;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.result.Json;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.sim.CalibratedStepModel;
import org.llmwb.engine.sim.StepProfiler;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "profile", description = {"Measure the engine's step times on this machine (CPU or GPU) over a grid of batch sizes and prompt lengths, fit",
        "the simulator's calibrated step model, and write it as a profile: llmwb simulate --step-profile FILE (docs/simulator.md)."})
final class ProfileCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, defaultValue = "tiny", description = "a checkpoint folder, a catalog preset (seeded random weights) or tiny (default: ${DEFAULT-VALUE})")
    String model;
    @Option(names = "--backend", defaultValue = "auto", description = "auto (the GPU when there is one), cuda or cpu (default: ${DEFAULT-VALUE})")
    String backend;
    @Option(names = "--batches", defaultValue = "1,4,16,32", split = ",", description = "batch sizes (default: ${DEFAULT-VALUE})")
    int[] batches;
    @Option(names = "--prompts", defaultValue = "64,512", split = ",", description = "prompt lengths in tokens (default: ${DEFAULT-VALUE})")
    int[] prompts;
    @Option(names = "--decode-tokens", defaultValue = "12", description = "tokens decoded per request (default: ${DEFAULT-VALUE})")
    int decodeTokens;
    @Option(names = "--step-tokens", defaultValue = "512", description = "token budget per step: prompts are prefilled in chunks of it (default: ${DEFAULT-VALUE})")
    int stepTokens;
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the profile to write (JSON)")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (java.util.Arrays.stream(batches).anyMatch(b -> b < 1) || java.util.Arrays.stream(prompts).anyMatch(p -> p < 1) || decodeTokens < 2 || stepTokens < 1) {
            throw new InputException("--batches and --prompts must be >= 1, --decode-tokens >= 2, --step-tokens >= 1");
        }
        if (!java.util.List.of("auto", "cpu", "cuda").contains(backend)) {
            throw new InputException("--backend is auto, cpu or cuda, not '" + backend + "'");
        }
        StepProfiler.Grid grid = new StepProfiler.Grid(batches, prompts, decodeTokens, stepTokens);
        int maxB = java.util.Arrays.stream(batches).max().getAsInt();
        int maxP = java.util.Arrays.stream(prompts).max().getAsInt();
        int bs = 16;
        int blocks = maxB * ((maxP + decodeTokens + bs) / bs + 1) + 8;
        var err = spec.commandLine().getErr();
        try (Checkpoint ck = Checkpoint.open(org.llmwb.engine.run.EngineSweep.checkpointFor(model, 1))) {
            org.llmwb.backend.cuda.CudaProbe.Result probe = org.llmwb.backend.cuda.CudaProbe.probe();
            if (backend.equals("cuda") && !probe.available()) {
                throw new InputException("--backend cuda needs a GPU, but there is none here (" + probe.reason() + ")");
            }
            boolean cuda = backend.equals("cuda") || backend.equals("auto") && probe.available();
            long t0 = System.nanoTime();
            StepProfiler.Profile prof;
            try (ModelRunner runner = cuda ? org.llmwb.engine.model.CudaModelRunner.open(ck, blocks, bs).useGraphs(true)
                    : new org.llmwb.engine.model.CpuModelRunner(new org.llmwb.engine.model.LlamaCpu(ck, org.llmwb.engine.quant.Quantization.NONE), blocks, bs)) {
                prof = StepProfiler.calibrate(runner, ck.config().name(), grid, (d, of) -> {
                    err.printf(Locale.ROOT, "\rprofile: configuration %d of %d (%.0f s)", d, of, (System.nanoTime() - t0) / 1e9);
                    err.flush();
                }, () -> false);
            } catch (IllegalArgumentException e) {
                throw new InputException(e.getMessage());
            }
            err.println();
            CalibratedStepModel m = prof.model();
            java.util.Map<String, Object> json = prof.toJson();
            json.put("grid", java.util.Map.of("batches", batches, "prompts", prompts, "decodeTokens", decodeTokens, "stepTokens", stepTokens));
            json.put("time", java.time.OffsetDateTime.now().toString());
            org.llmwb.core.result.AtomicFiles.write(out, Json.pretty(json));
            var o = spec.commandLine().getOut();
            o.println(m.describe());
            o.println("wrote " + out + " (" + prof.samples().seconds().length + " steps measured)");
            return 0;
        }
    }
}
