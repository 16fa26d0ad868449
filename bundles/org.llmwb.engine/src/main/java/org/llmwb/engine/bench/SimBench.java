package org.llmwb.engine.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.result.Json;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sim.RooflineStepModel;
import org.llmwb.engine.sim.ServingSim;

/**
 * How the serving simulator's own run time grows with requests and replicas: Llama-3.1-8B on H100s, Poisson
 * arrivals at 11 requests/s per replica (about 90% busy), 512-token prompts and 64-token outputs (lognormal), least-outstanding routing.
 * Each size runs once to warm up, then {@code --repeats} times; the median wall time, its spread, and simulated
 * requests and engine steps per wall second are printed and written as JSON lines.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.SimBench --sizes 10000x8,50000x64 --repeats 3 --out sim.jsonl</pre>
 */
public final class SimBench {
    private SimBench() {
    }

    public static void main(String[] args) throws Exception {
        String sizes = "10000x8,50000x64,100000x64";
        int repeats = 3;
        Path out = Path.of("sim-bench.jsonl");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = args[++i];
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--sizes NxR,... --repeats --out)");
            }
        }
        var m = ModelPresets.of("llama-3.1-8b");
        var gpu = GpuCatalog.builtIn().get("h100-sxm");
        Precision bf16 = Precision.parse("bf16");
        List<Map<String, Object>> rows = new ArrayList<>();
        System.out.println("requests  replicas  wall s (median, min-max)  requests/s  steps/s  simulated s");
        for (String size : sizes.split(",")) {
            int n = Integer.parseInt(size.split("x")[0]);
            int reps = Integer.parseInt(size.split("x")[1]);
            List<Request> reqs = Workload.generate(new Workload.Spec("poisson", n, 11.0 * reps, 1, 512, "lognormal", 64, "lognormal", 0, 1, 5, 32000));
            ServingSim.Config c = ServingSim.Config.of(m, gpu, bf16, bf16).withReplicas(reps, 1)
                    .withStepModels(new RooflineStepModel(m, gpu, bf16, bf16, 1, 0.6, 0.8, 200e-6, 5e-6), null);
            double[] wall = new double[repeats];
            ServingSim.Result last = null;
            for (int r = -1; r < repeats; r++) {
                long t0 = System.nanoTime();
                last = new ServingSim(c).run(reqs);
                if (r >= 0) {
                    wall[r] = (System.nanoTime() - t0) / 1e9;
                }
            }
            java.util.Arrays.sort(wall);
            double med = wall[repeats / 2];
            long steps = last.replicas().stream().mapToLong(ServingSim.ReplicaStats::steps).sum();
            System.out.printf(Locale.ROOT, "%8d  %8d  %6.2f (%.2f-%.2f)  %10.0f  %7.0f  %8.1f%n", n, reps, med, wall[0], wall[repeats - 1], n / med, steps / med,
                    last.simulatedS());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "serving-sim-scale");
            row.put("requests", n);
            row.put("replicas", reps);
            row.put("wallSMedian", med);
            row.put("wallSMin", wall[0]);
            row.put("wallSMax", wall[repeats - 1]);
            row.put("repeats", repeats);
            row.put("requestsPerWallS", n / med);
            row.put("engineSteps", steps);
            row.put("stepsPerWallS", steps / med);
            row.put("simulatedS", last.simulatedS());
            row.put("outputTokens", last.metrics().outputTokens());
            row.put("cpu", System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
            rows.add(row);
        }
        StringBuilder sb = new StringBuilder();
        rows.forEach(r -> sb.append(Json.line(r)).append('\n'));
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
        System.out.println("wrote " + out);
    }
}
