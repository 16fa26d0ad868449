package org.llmwb.engine.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.result.Json;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.run.EngineRun;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sim.CalibratedStepModel;
import org.llmwb.engine.sim.ServingSim;
import org.llmwb.engine.sim.StepProfiler;
import org.llmwb.engine.sim.StepTimeModel;

/**
 * The simulator against the engine on the same requests (issue 23's calibration): the engine's steps are profiled on
 * this runner ({@link StepProfiler}), the calibrated step model is fitted, and then three workloads run through the real
 * engine (wall clock) and through the simulator with that model — a continuous-batching run, a chunked-prefill run with
 * long prompts, and a prefix-caching run with a shared system prompt. Each record gives TTFT p50/p99, ITL p50/p99 and
 * output throughput of both, and the simulator's error on each.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.SimCalibrationBench --model models/kjv-target --backend cpu --out calib.jsonl
 * java -cp 'lib/*' org.llmwb.engine.bench.SimCalibrationBench --model DIR --backend cuda --scale 20 --out calib.jsonl</pre>
 */
public final class SimCalibrationBench {
    private SimCalibrationBench() {
    }

    record Case(String name, int requests, double rate, int prompt, String promptDist, int output, int shared, int budget, int maxSeqs, boolean prefix) {
    }

    public static void main(String[] args) throws Exception {
        String model = "models/kjv-target";
        String backend = "cpu";
        Path out = Path.of("calib.jsonl");
        Path profileOut = null;
        double scale = 1;
        int[] batches = {1, 4, 16};
        int[] prompts = {64, 256, 768};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--backend" -> backend = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--profile-out" -> profileOut = Path.of(args[++i]);
                case "--scale" -> scale = Double.parseDouble(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--prompts" -> prompts = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--model --backend --out --profile-out --scale --batches --prompts)");
            }
        }
        List<Case> cases = List.of(new Case("continuous", (int) (40 * scale), 1.0 * scale, 128, "lognormal", 48, 0, 512, 16, false),
                new Case("chunked-long-prompts", (int) (24 * scale), 0.5 * scale, 768, "fixed", 32, 0, 256, 16, false),
                new Case("prefix-caching", (int) (40 * scale), 1.0 * scale, 64, "fixed", 32, 384, 512, 16, true));
        int bs = 16;
        int blocks = 4096;
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean cuda = backend.equals("cuda");
        try (Checkpoint ck = Checkpoint.open(EngineSweep.checkpointFor(model, 1));
                ModelRunner r = cuda ? org.llmwb.engine.model.CudaModelRunner.open(ck, blocks, bs).useGraphs(true)
                        : QuantBench.cpuRunner(ck, org.llmwb.engine.quant.Quantization.NONE, blocks, bs)) {
            long t0 = System.nanoTime();
            StepProfiler.Profile prof = StepProfiler.calibrate(r, ck.config().name(), new StepProfiler.Grid(batches, prompts, 12, 512),
                    (d, of) -> System.out.printf(Locale.ROOT, "profile %d/%d (%.0f s)%n", d, of, (System.nanoTime() - t0) / 1e9), () -> false);
            CalibratedStepModel cal = prof.model();
            System.out.println(cal.describe());
            if (profileOut != null) {
                org.llmwb.core.result.AtomicFiles.write(profileOut, Json.pretty(prof.toJson()));
            }
            int vocab = (int) Math.min(ck.config().vocabSize(), 200);
            for (Case c : cases) {
                List<Request> reqs = Workload.generate(new Workload.Spec("poisson", c.requests(), c.rate(), 1, c.prompt(), c.promptDist(), c.output(), "lognormal",
                        c.shared(), 1, 11, vocab));
                SchedulerConfig sched = SchedulerConfig.continuous(c.budget(), c.maxSeqs());
                LlmEngine e = new LlmEngine(r, new BlockManager(blocks, bs, c.prefix()), sched);
                List<Double> ratio = new ArrayList<>();
                EngineRun.Result real = EngineRun.run(e, reqs, SamplingParams.greedy(1).withStop(java.util.Set.of(), true), 0, 0, new EngineRun.Listener() {
                    @Override
                    public void step(org.llmwb.engine.StepEvent ev) {
                        ratio.add(cal.predict(CalibratedStepModel.features(ev)) / ev.seconds());
                    }
                }, () -> false, 0);
                double[] rs = ratio.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                ServingSim.Config sc = ServingSim.Config.of(ck.config(), org.llmwb.core.catalog.GpuCatalog.builtIn().get("h100-sxm"),
                        org.llmwb.core.catalog.Precision.parse("bf16"), org.llmwb.core.catalog.Precision.parse("bf16")).withScheduler(sched, c.prefix())
                        .withStepModels((StepTimeModel) cal, null);
                ServingSim.Result sim = new ServingSim(sc).run(reqs);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("bench", "sim-calibration");
                row.put("case", c.name());
                row.put("device", r.device());
                row.put("model", ck.config().name());
                row.put("requests", c.requests());
                row.put("rate", c.rate());
                row.put("stepModel", cal.describe());
                row.put("profileRmsRelError", cal.rmsRelError());
                compare(row, real.metrics(), sim.metrics());
                // the step model alone, on the engine's own steps of this run: predicted / measured step time
                row.put("engineSteps", rs.length);
                row.put("stepPredictedOverMeasured_p10", rs[(int) (0.1 * (rs.length - 1))]);
                row.put("stepPredictedOverMeasured_p50", rs[(rs.length - 1) / 2]);
                row.put("stepPredictedOverMeasured_p90", rs[(int) (0.9 * (rs.length - 1))]);
                row.put("simSteps", sim.replicas().stream().mapToLong(x -> x.steps()).sum());
                rows.add(row);
                System.out.printf(Locale.ROOT, "%-22s engine vs simulated: TTFT p50 %.1f/%.1f ms (%+.0f%%), p99 %.1f/%.1f (%+.0f%%); ITL p50 %.1f/%.1f (%+.0f%%), "
                        + "p99 %.1f/%.1f (%+.0f%%); %.1f/%.1f tok/s (%+.0f%%)%n", c.name(), d(row, "engine_ttft_ms_p50"), d(row, "sim_ttft_ms_p50"),
                        d(row, "err_ttft_ms_p50") * 100, d(row, "engine_ttft_ms_p99"), d(row, "sim_ttft_ms_p99"), d(row, "err_ttft_ms_p99") * 100,
                        d(row, "engine_itl_ms_p50"), d(row, "sim_itl_ms_p50"), d(row, "err_itl_ms_p50") * 100, d(row, "engine_itl_ms_p99"),
                        d(row, "sim_itl_ms_p99"), d(row, "err_itl_ms_p99") * 100, d(row, "engine_outputTokensPerS"), d(row, "sim_outputTokensPerS"),
                        d(row, "err_outputTokensPerS") * 100);
                System.out.printf(Locale.ROOT, "%-22s the step model on the engine's %d steps: predicted/measured p10 %.2f p50 %.2f p90 %.2f (simulated steps: %s)%n", "",
                        rs.length, d(row, "stepPredictedOverMeasured_p10"), d(row, "stepPredictedOverMeasured_p50"), d(row, "stepPredictedOverMeasured_p90"),
                        row.get("simSteps"));
            }
        }
        StringBuilder sb = new StringBuilder();
        rows.forEach(x -> sb.append(Json.line(x)).append('\n'));
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
        System.out.println("wrote " + out);
    }

    private static double d(Map<String, Object> row, String k) {
        return ((Number) row.get(k)).doubleValue();
    }

    /** engine_X, sim_X and err_X = sim / engine − 1 for the compared figures. */
    static void compare(Map<String, Object> row, RunMetrics engine, RunMetrics sim) {
        for (String metric : List.of("ttft_ms", "itl_ms")) {
            for (String q : List.of("p50", "p99")) {
                double a = q.equals("p50") ? engine.table().get(metric).p50() : engine.table().get(metric).p99();
                double b = q.equals("p50") ? sim.table().get(metric).p50() : sim.table().get(metric).p99();
                row.put("engine_" + metric + "_" + q, a);
                row.put("sim_" + metric + "_" + q, b);
                row.put("err_" + metric + "_" + q, b / a - 1);
            }
        }
        row.put("engine_outputTokensPerS", engine.outputTokensPerS());
        row.put("sim_outputTokensPerS", sim.outputTokensPerS());
        row.put("err_outputTokensPerS", sim.outputTokensPerS() / engine.outputTokensPerS() - 1);
    }
}
