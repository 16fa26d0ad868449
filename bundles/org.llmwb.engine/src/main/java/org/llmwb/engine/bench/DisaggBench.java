package org.llmwb.engine.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.backend.cuda.Gpu;
import org.llmwb.core.result.Json;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.disagg.DisaggRun;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.Stats;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CudaModelRunner;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;

/**
 * Aggregated against disaggregated serving on the same trace: {@code decoders} users with short prompts and
 * long outputs start together, and {@code long} requests with long prompts arrive among them. Aggregated: one
 * engine per GPU (data parallel, chunked prefill); disaggregated: one prefill worker and one decode worker
 * (on two GPUs, or two contexts of one GPU). Reported per mode: TTFT and ITL p50/p99/std, output tokens/s per
 * GPU, and every KV transfer's bytes and stage times.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.DisaggBench --model llama-3.2-1b --gpus 2 --out disagg.jsonl</pre>
 */
public final class DisaggBench {
    private DisaggBench() {
    }

    public static void main(String[] args) throws Exception {
        String model = "llama-3.2-1b";
        int gpus = 2;
        int decoders = 32;
        int longs = 8;
        int longPrompt = 3072;
        int decodeTokens = 256;
        int chunk = 2048;
        Path out = Path.of("disagg.jsonl");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--gpus" -> gpus = Integer.parseInt(args[++i]);
                case "--decoders" -> decoders = Integer.parseInt(args[++i]);
                case "--long" -> longs = Integer.parseInt(args[++i]);
                case "--long-prompt" -> longPrompt = Integer.parseInt(args[++i]);
                case "--decode-tokens" -> decodeTokens = Integer.parseInt(args[++i]);
                case "--chunk" -> chunk = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < decoders; i++) {
            int[] p = new int[128];
            for (int j = 0; j < p.length; j++) {
                p[j] = (j * 7 + i * 13) % 200;
            }
            reqs.add(new Request(i, 0.002 * i, p, decodeTokens, 0));
        }
        for (int i = 0; i < longs; i++) {
            int[] p = new int[longPrompt];
            for (int j = 0; j < p.length; j++) {
                p[j] = (j * 11 + i * 29) % 200;
            }
            reqs.add(new Request(decoders + i, 0.4 + 0.3 * i, p, 16, 0));
        }
        int bs = 16;
        int blocks = 4096;
        SamplingParams sp = SamplingParams.greedy(1).withStop(java.util.Set.of(), true);
        List<Map<String, Object>> rows = new ArrayList<>();
        int devices = Gpu.deviceCount();
        boolean two = gpus >= 2 && devices >= 2;
        try (Checkpoint ck = Checkpoint.open(EngineSweep.checkpointFor(model, 1))) {
            for (String mode : new String[] {"aggregated", "disaggregated"}) {
                Gpu g0 = Gpu.open(0);
                Gpu g1 = Gpu.open(two ? 1 : 0);
                try {
                    g0.bind();
                    CudaModelRunner r0 = new CudaModelRunner(g0, ck, blocks, bs).useGraphs(true);
                    g1.bind();
                    CudaModelRunner r1 = new CudaModelRunner(g1, ck, blocks, bs).useGraphs(true);
                    try (r0; r1) {
                        if (two) {
                            g0.enablePeerAccess(g1);
                            g1.enablePeerAccess(g0);
                        }
                        g0.bind();
                        warm(r0);
                        g1.bind();
                        warm(r1);
                        DisaggRun.Result res;
                        if (mode.equals("aggregated")) {
                            res = DisaggRun.aggregated(List.of(engine(r0, blocks, bs, chunk, true), engine(r1, blocks, bs, chunk, true)), reqs, sp, 0, 0);
                        } else {
                            res = DisaggRun.disaggregated(List.of(engine(r0, blocks, bs, 8192, true)), List.of(engine(r1, blocks, bs, chunk, false)), reqs, sp, 2,
                                    0, 0);
                        }
                        rows.add(row(res, two ? 2 : 1, two ? "two GPUs" : "two contexts on one GPU", r0.device(), decoders, longs, longPrompt, chunk));
                    }
                } finally {
                    g0.close();
                    g1.close();
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        rows.forEach(r -> sb.append(Json.line(r)).append('\n'));
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
        System.out.println("wrote " + out);
    }

    static LlmEngine engine(CudaModelRunner r, int blocks, int bs, int budget, boolean prefixCaching) {
        return new LlmEngine(r, new BlockManager(blocks, bs, prefixCaching), SchedulerConfig.continuous(budget, 64));
    }

    static void warm(CudaModelRunner r) {
        LlmEngine w = new LlmEngine(r, new BlockManager(64, r.blockSize(), false), SchedulerConfig.continuous(4096, 32));
        for (int i = 0; i < 32; i++) {
            w.add(new int[] {1, 2, 3, 4, 5, 6, 7 + i}, SamplingParams.greedy(4).withStop(java.util.Set.of(), true), 0, 0);
        }
        while (w.hasWork()) {
            w.step(false);
        }
    }

    static Map<String, Object> row(DisaggRun.Result res, int gpus, String where, String device, int decoders, int longs, int longPrompt, int chunk) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("bench", "disaggregation");
        r.put("mode", res.mode());
        r.put("placement", where);
        r.put("device", device);
        r.put("gpus", gpus);
        r.put("decoders", decoders);
        r.put("longRequests", longs);
        r.put("longPromptTokens", longPrompt);
        r.put("chunkedPrefillBudget", chunk);
        r.put("completed", res.requests().size());
        double[] itl = res.requests().stream().flatMapToDouble(q -> java.util.Arrays.stream(q.itl())).map(v -> v * 1e3).toArray();
        double[] ttft = res.requests().stream().mapToDouble(q -> q.ttft() * 1e3).toArray();
        double[] ttftLong = res.requests().stream().filter(q -> q.id() >= decoders).mapToDouble(q -> q.ttft() * 1e3).toArray();
        Stats si = Stats.of(itl);
        Stats st = Stats.of(ttft);
        Stats sl = Stats.of(ttftLong);
        r.put("itlMsP50", si.p50());
        r.put("itlMsP99", si.p99());
        r.put("itlMsMax", si.max());
        r.put("itlMsStd", si.std());
        r.put("ttftMsP50", st.p50());
        r.put("ttftMsP99", st.p99());
        r.put("longTtftMsP50", sl.p50());
        r.put("outputTokensPerS", res.metrics().outputTokensPerS());
        r.put("outputTokensPerSPerGpu", res.metrics().outputTokensPerS() / gpus);
        r.put("durationS", res.metrics().durationS());
        if (!res.transfers().isEmpty()) {
            long bytes = res.transfers().stream().mapToLong(DisaggRun.Transfer::bytes).sum();
            double s = res.transfers().stream().mapToDouble(DisaggRun.Transfer::totalS).sum();
            r.put("transfers", res.transfers().size());
            r.put("transferBytes", bytes);
            r.put("transferSeconds", s);
            r.put("transferPath", res.transfers().get(0).path());
            r.put("transferMsMean", s / res.transfers().size() * 1e3);
            r.put("transferGBps", bytes / s / 1e9);
            DisaggRun.Transfer big = res.transfers().stream().max(java.util.Comparator.comparingLong(DisaggRun.Transfer::bytes)).orElseThrow();
            r.put("largestTransfer", Map.of("bytes", big.bytes(), "gatherMs", big.gatherS() * 1e3, "receiveMs", big.receiveS() * 1e3,
                    "waitMs", big.waitS() * 1e3));
        }
        r.put("workers", res.perWorker());
        System.out.printf(Locale.ROOT, "%-13s %s: ITL p50 %.2f ms p99 %.2f ms std %.2f; TTFT p50 %.1f ms p99 %.1f ms; %.0f tok/s (%.0f per GPU)%s%n", res.mode(), where,
                si.p50(), si.p99(), si.std(), st.p50(), st.p99(), res.metrics().outputTokensPerS(), res.metrics().outputTokensPerS() / gpus,
                res.transfers().isEmpty() ? "" : String.format(Locale.ROOT, "; %d transfers, %.1f GB/s, path %s", res.transfers().size(), r.get("transferGBps"),
                        r.get("transferPath")));
        return r;
    }
}
