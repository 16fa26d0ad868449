package org.llmwb.engine.sim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.SchedulerConfig;

/**
 * A {@code kind: serving-sim} experiment: every point of its sweep is one {@link ServingSim} run, and each record
 * carries the point's settings, the cluster's GPUs, throughput per GPU, prefix reuse and the same flattened latency
 * table and CDFs an engine-run record has (so the Latency view and lessons read both alike).
 */
public final class SimSweep {
    static final Map<String, Object> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("precision", "bf16");
        DEFAULTS.put("tp", 1);
        DEFAULTS.put("replicas", 1);
        DEFAULTS.put("prefillReplicas", 0L);
        DEFAULTS.put("prefillTp", 1);
        DEFAULTS.put("transferGBps", 0.0);
        DEFAULTS.put("router", "least-outstanding");
        DEFAULTS.put("overlapWeight", 4.0);
        DEFAULTS.put("requests", 1000);
        DEFAULTS.put("rate", 10.0);
        DEFAULTS.put("promptTokens", 1024);
        DEFAULTS.put("outputTokens", 128);
        DEFAULTS.put("lengthDist", "lognormal");
        DEFAULTS.put("sharedPrefix", 0L);
        DEFAULTS.put("users", 100);
        DEFAULTS.put("turns", 4);
        DEFAULTS.put("thinkS", 5.0);
        DEFAULTS.put("maxSeqs", 256);
        DEFAULTS.put("maxBatchedTokens", 8192);
        DEFAULTS.put("prefixCaching", true);
        DEFAULTS.put("computeEfficiency", 0.6);
        DEFAULTS.put("memoryEfficiency", 0.8);
        DEFAULTS.put("stepOverheadUs", 200.0);
        DEFAULTS.put("sloTtftMs", 1000.0);
        DEFAULTS.put("sloTpotMs", 50.0);
        DEFAULTS.put("seed", 1L);
    }

    private final Experiment e;
    private final GpuCatalog gpus;

    public SimSweep(Experiment e, GpuCatalog gpus) {
        if (!"serving-sim".equals(e.kind())) {
            throw new IllegalArgumentException("not a serving simulation: " + e.kind());
        }
        this.e = e;
        this.gpus = gpus;
    }

    public long total() {
        return e.sweep().points();
    }

    public long run(EngineSweep.Sink sink, BooleanSupplier cancelled) {
        long total = total();
        return e.sweep().walk(cancelled, (index, point) -> sink.record(index, total, runPoint(index, point)));
    }

    private static Object get(Map<String, Object> p, String k) {
        return p.containsKey(k) ? p.get(k) : DEFAULTS.get(k);
    }

    private static int i(Map<String, Object> p, String k) {
        return ((Number) get(p, k)).intValue();
    }

    private static double d(Map<String, Object> p, String k) {
        return ((Number) get(p, k)).doubleValue();
    }

    /** The roofline model, or the calibrated one of {@code stepProfile} (measured on one GPU: TP 1 only). */
    private StepTimeModel stepModel(Map<String, Object> p, ModelConfig m, GpuSpec g, Precision w, Precision kv, int tp, int prefillTp, double eff, double mem,
            double over) {
        if (p.get("stepProfile") == null) {
            return new RooflineStepModel(m, g, w, kv, tp, eff, mem, over, 5e-6);
        }
        if (tp != 1 || prefillTp != 1) {
            throw new InputException(e.location(), "stepProfile: a profile measured on one GPU cannot be rescaled to TP " + Math.max(tp, prefillTp)
                    + "; use the roofline model (no stepProfile) for that point");
        }
        return CalibratedStepModel.read(java.nio.file.Path.of(String.valueOf(p.get("stepProfile"))));
    }

    private Map<String, Object> runPoint(long index, Map<String, Object> p) {
        ModelConfig m = ModelPresets.resolve(String.valueOf(p.get("model")));
        GpuSpec g = gpus.get(String.valueOf(p.get("gpu")));
        Precision w = Precision.parse(String.valueOf(get(p, "precision")));
        Precision kv = Precision.kvOrDefault(p.containsKey("kvPrecision") ? String.valueOf(p.get("kvPrecision")) : null, w);
        int tp = i(p, "tp");
        int prefillTp = i(p, "prefillTp");
        double eff = d(p, "computeEfficiency");
        double mem = d(p, "memoryEfficiency");
        double over = d(p, "stepOverheadUs") * 1e-6;
        try {
            ServingSim.Config c = ServingSim.Config.of(m, g, w, kv).withReplicas(i(p, "replicas"), tp).withPrefillPool(i(p, "prefillReplicas"), prefillTp)
                    .withRouter(Router.parse(String.valueOf(get(p, "router"))), d(p, "overlapWeight"))
                    .withScheduler(SchedulerConfig.continuous(i(p, "maxBatchedTokens"), i(p, "maxSeqs")), (Boolean) get(p, "prefixCaching"))
                    .withStepModels(stepModel(p, m, g, w, kv, tp, prefillTp, eff, mem, over), null)
                    .withSlos(d(p, "sloTtftMs") / 1e3, d(p, "sloTpotMs") / 1e3).withTransfer(d(p, "transferGBps") * 1e9);
            String workload = e.sweep().target();
            long seed = ((Number) get(p, "seed")).longValue();
            String dist = String.valueOf(get(p, "lengthDist"));
            List<Request> reqs = workload.equals("trace") ? Traces.read(java.nio.file.Path.of(String.valueOf(p.get("trace"))), Math.max(2, m.vocabSize()))
                    : workload.equals("sessions")
                    ? Sessions.generate(i(p, "users"), i(p, "turns"), d(p, "rate"), d(p, "thinkS"), i(p, "sharedPrefix"), i(p, "promptTokens"), i(p, "outputTokens"),
                            seed, Math.max(2, m.vocabSize()))
                    : Workload.generate(new Workload.Spec(workload, i(p, "requests"), d(p, "rate"), 8, i(p, "promptTokens"), dist, i(p, "outputTokens"), dist,
                            i(p, "sharedPrefix"), 1, seed, Math.max(2, m.vocabSize())));
            ServingSim.Result r = new ServingSim(c).run(reqs);
            Map<String, Object> rec = new LinkedHashMap<>(p);
            rec.put("workload", workload);
            rec.put("mode", c.disaggregated() ? "disaggregated" : "aggregated");
            rec.putAll(r.summary());
            rec.put("requestsSimulated", reqs.size());
            EngineSweep.putLatency(rec, r.requests(), r.metrics());
            return rec;
        } catch (InputException ex) {
            throw new InputException(e.location(), "point " + (index + 1) + ": " + ex.getMessage());
        } catch (IllegalArgumentException ex) {
            throw new InputException(e.location(), "point " + (index + 1) + ": " + ex.getMessage());
        }
    }
}
