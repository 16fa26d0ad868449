package org.llmwb.engine.run;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.disagg.DisaggRun;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.quant.Quantization;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.tokenizer.BpeTokenizer;

/**
 * An engine-run point served by several engines ({@code disaggregation:} section): aggregated over
 * {@code workers} engines, or disaggregated over prefill and decode workers with KV transfers. On the CPU the
 * workers share the loaded weights and each has its own pool and thread; on the GPU each worker opens its own
 * context, on GPU {@code worker mod GPUs}.
 */
final class ServingPoint {
    private ServingPoint() {
    }

    static Map<String, Object> run(EngineSweep sweep, long index, Map<String, Object> p, EngineSweep.StepSink steps, BooleanSupplier cancelled,
            EngineSweep.Loaded m, Quantization quant, List<Request> reqs, String arrivals, int maxLen, int blocks, int bs, SchedulerConfig cfg,
            BpeTokenizer tok, long seed, boolean disagg) {
        int nPrefill = disagg ? EngineSweep.i(p, "disaggregation.prefillWorkers") : EngineSweep.i(p, "disaggregation.workers");
        int nDecode = disagg ? EngineSweep.i(p, "disaggregation.decodeWorkers") : 0;
        boolean cuda = sweep.cuda();
        int devices = cuda ? org.llmwb.backend.cuda.Gpu.deviceCount() : 0;
        List<org.llmwb.backend.cuda.Gpu> gpus = new ArrayList<>();
        List<ModelRunner> runners = new ArrayList<>();
        DoubleSupplier clock = LlmEngine.wallClock();
        try {
            for (int w = 0; w < nPrefill + nDecode; w++) {
                if (cuda) {
                    org.llmwb.backend.cuda.Gpu g = org.llmwb.backend.cuda.Gpu.open(w % Math.max(1, devices));
                    gpus.add(g);
                    g.bind();
                    try (Checkpoint ck = Checkpoint.open(m.dir())) {
                        runners.add(new org.llmwb.engine.model.CudaModelRunner(g, ck, blocks, bs, quant).useGraphs(EngineSweep.b(p, "graphs")));
                    }
                } else {
                    runners.add(new CpuModelRunner(m.cpu(), blocks, bs));
                }
            }
            List<LlmEngine> front = new ArrayList<>();
            List<LlmEngine> back = new ArrayList<>();
            for (int w = 0; w < runners.size(); w++) {
                ModelRunner r = runners.get(w);
                r.bindToCurrentThread();
                if (EngineSweep.b(p, "warmup")) {
                    EngineSweep.warmUp(r);
                }
                boolean decode = w >= nPrefill;
                // a decode worker takes K/V it did not compute: no prefix caching there
                LlmEngine e = new LlmEngine(r, new BlockManager(blocks, bs, !decode && EngineSweep.b(p, "prefixCaching")), cfg, maxLen, clock);
                (decode ? back : front).add(e);
            }
            Set<Integer> stops = tok == null ? Set.of() : Set.of(tok.specialId("<|end_of_text|>"));
            SamplingParams sp = new SamplingParams(EngineSweep.d(p, "temperature"), EngineSweep.i(p, "topK"), EngineSweep.d(p, "topP"), seed, 1, stops, true);
            DisaggRun.Result res;
            try {
                res = disagg ? DisaggRun.disaggregated(front, back, reqs, sp, EngineSweep.i(p, "disaggregation.stagingSlots"), EngineSweep.d(p, "sloTtftMs") / 1e3,
                        EngineSweep.d(p, "sloTpotMs") / 1e3, cancelled)
                        : DisaggRun.aggregated(front, reqs, sp, EngineSweep.d(p, "sloTtftMs") / 1e3, EngineSweep.d(p, "sloTpotMs") / 1e3, cancelled);
            } catch (IllegalArgumentException ex) {
                throw new org.llmwb.core.InputException("point " + (index + 1) + ": " + ex.getMessage());
            }
            if (res.cancelled()) {
                return null;
            }
            for (StepEvent st : res.steps()) {
                steps.step(index, st);
            }
            sweep.device(runners.get(0).device());
            sweep.pointFiles().add(new EngineSweep.PointFiles(index, res.requests(), res.steps(), res.metrics().text()));
            Map<String, Object> rec = new LinkedHashMap<>();
            for (String k : List.of("model", "batching", "chunkedPrefill", "maxBatchedTokens", "maxSeqs", "requests", "rate", "promptTokens", "outputTokens")) {
                rec.put(k, EngineSweep.get(p, k));
            }
            p.forEach(rec::putIfAbsent);
            rec.put("workload", arrivals);
            rec.put("backend", runners.get(0).backend());
            rec.put("device", runners.get(0).device());
            rec.put("serving", res.mode());
            rec.put("prefillWorkers", disagg ? nPrefill : 0);
            rec.put("decodeWorkers", nDecode);
            rec.put("engines", runners.size());
            rec.put("gpus", cuda ? Math.min(runners.size(), Math.max(1, devices)) : 0);
            if (cuda && runners.size() > devices) {
                rec.put("placementNote", runners.size() + " workers on " + devices + " GPU(s): workers sharing a GPU run in separate contexts, time-sliced");
            }
            if (!cuda) {
                rec.put("placementNote", "CPU: each worker is a thread with its own KV pool; they share the cores");
            }
            EngineSweep.putLatency(rec, res.requests(), res.metrics());
            if (!res.transfers().isEmpty()) {
                long bytes = res.transfers().stream().mapToLong(DisaggRun.Transfer::bytes).sum();
                double secs = res.transfers().stream().mapToDouble(DisaggRun.Transfer::totalS).sum();
                List<Map<String, Object>> per = new ArrayList<>();
                for (DisaggRun.Transfer t : res.transfers()) {
                    Map<String, Object> x = new LinkedHashMap<>();
                    x.put("request", t.request());
                    x.put("blocks", t.blocks());
                    x.put("bytes", t.bytes());
                    x.put("gatherMs", t.gatherS() * 1e3);
                    x.put("receiveMs", t.receiveS() * 1e3);
                    x.put("waitMs", t.waitS() * 1e3);
                    x.put("path", t.path());
                    per.add(x);
                }
                rec.put("transfers", per);
                rec.put("transferBytes", bytes);
                rec.put("transferMsMean", secs / res.transfers().size() * 1e3);
                rec.put("transferGBps", secs == 0 ? 0 : bytes / secs / 1e9);
            }
            rec.put("workers", res.perWorker());
            rec.put("quantization", quant.label());
            rec.put("weightBytes", runners.get(0).weightBytes());
            return rec;
        } finally {
            for (ModelRunner r : runners) {
                r.bindToCurrentThread();
                r.close();
            }
            for (org.llmwb.backend.cuda.Gpu g : gpus) {
                g.close();
            }
        }
    }
}
