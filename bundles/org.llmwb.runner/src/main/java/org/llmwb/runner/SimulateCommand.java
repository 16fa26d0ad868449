package org.llmwb.runner;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.run.Workload;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sim.RooflineStepModel;
import org.llmwb.engine.sim.Router;
import org.llmwb.engine.sim.ServingSim;
import org.llmwb.engine.sim.Sessions;
import org.llmwb.engine.sim.StepTimeModel;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "simulate", description = {"Serving at cluster scale, simulated: replicas of the engine's own scheduler and paged KV cache on a",
        "roofline step-time model of the GPU, behind a router, replaying a generated workload. Prints the latency table,",
        "throughput per GPU and prefix-cache reuse."})
final class SimulateCommand implements Runnable {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;
    @Mixin
    ModelGpuOptions target;

    @Option(names = "--tp", defaultValue = "1", description = "GPUs per replica (tensor parallel; default: ${DEFAULT-VALUE})")
    int tp;
    @Option(names = "--replicas", defaultValue = "1", description = "model instances (default: ${DEFAULT-VALUE})")
    int replicas;
    @Option(names = "--prefill-replicas", defaultValue = "0", description = "disaggregated serving: prefill replicas in front of --replicas decode replicas (default: ${DEFAULT-VALUE}, aggregated)")
    int prefillReplicas;
    @Option(names = "--prefill-tp", defaultValue = "1", description = "GPUs per prefill replica (default: ${DEFAULT-VALUE})")
    int prefillTp;
    @Option(names = "--transfer-gbps", defaultValue = "0", description = "KV transfer bandwidth between the pools, GB/s (default: 0, the GPU's link)")
    double transferGBps;
    @Option(names = "--plan-gpus", defaultValue = "0", description = "plan: simulate every aggregated and disaggregated layout of this many GPUs and rank them by goodput")
    int planGpus;
    @Option(names = "--plan-tp", defaultValue = "1,2,4,8", split = ",", description = "plan: the TP sizes to try (default: ${DEFAULT-VALUE})")
    int[] planTp;
    @Option(names = "--router", defaultValue = "least-outstanding", description = "round-robin, least-outstanding or kv-aware (default: ${DEFAULT-VALUE})")
    String router;
    @Option(names = "--overlap-weight", defaultValue = "4", description = "kv-aware: weight of prompt blocks to prefill against blocks in flight (default: ${DEFAULT-VALUE})")
    double overlapWeight;
    @Option(names = "--workload", description = "poisson, bursty, sessions (multi-turn chats) or trace (default: trace with --trace, else poisson)")
    String workload;
    @Option(names = "--trace", paramLabel = "FILE", description = "trace: JSON lines, Mooncake's form (timestamp ms, input_length, output_length, hash_ids) or arrival/promptTokens/outputTokens")
    java.nio.file.Path trace;
    @Option(names = "--num-requests", defaultValue = "1000", description = "requests (poisson, bursty; default: ${DEFAULT-VALUE})")
    int requests;
    @Option(names = "--request-rate", defaultValue = "10", description = "requests per second (poisson, bursty), or users per second (sessions) (default: ${DEFAULT-VALUE})")
    double rate;
    @Option(names = "--input-tokens", defaultValue = "1024", description = "mean prompt tokens (sessions: each user message) (default: ${DEFAULT-VALUE})")
    int input;
    @Option(names = "--output-tokens", defaultValue = "128", description = "mean output tokens (default: ${DEFAULT-VALUE})")
    int output;
    @Option(names = "--length-dist", defaultValue = "lognormal", description = "fixed, uniform, exponential or lognormal (default: ${DEFAULT-VALUE})")
    String dist;
    @Option(names = "--shared-prefix", defaultValue = "0", description = "tokens of a system prompt every request starts with (default: ${DEFAULT-VALUE})")
    int sharedPrefix;
    @Option(names = "--users", defaultValue = "100", description = "sessions: users (default: ${DEFAULT-VALUE})")
    int users;
    @Option(names = "--turns", defaultValue = "4", description = "sessions: requests per user (default: ${DEFAULT-VALUE})")
    int turns;
    @Option(names = "--think-s", defaultValue = "5", description = "sessions: mean seconds between a user's requests (default: ${DEFAULT-VALUE})")
    double thinkS;
    @Option(names = "--max-seqs", defaultValue = "256", description = "sequences per step (default: ${DEFAULT-VALUE})")
    int maxSeqs;
    @Option(names = "--max-batched-tokens", defaultValue = "8192", description = "tokens per step; chunked prefill under this budget (default: ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--no-prefix-caching", description = "turn prefix caching off")
    boolean noPrefix;
    @Option(names = "--compute-efficiency", defaultValue = "0.6", description = "share of the GPU's peak a step reaches (default: ${DEFAULT-VALUE})")
    double computeEff;
    @Option(names = "--memory-efficiency", defaultValue = "0.8", description = "share of the memory bandwidth a step reaches (default: ${DEFAULT-VALUE})")
    double memoryEff;
    @Option(names = "--step-profile", paramLabel = "FILE", description = {"step times from a profile the engine measured (llmwb profile) instead of the roofline",
        "model; one GPU per replica (it cannot be rescaled to another TP)"})
    java.nio.file.Path stepProfile;
    @Option(names = "--step-overhead-us", defaultValue = "200", description = "fixed host time per step: scheduling, sampling, launches (default: ${DEFAULT-VALUE})")
    double overheadUs;
    @Option(names = "--slo-ttft-ms", defaultValue = "1000", description = "goodput: TTFT target (default: ${DEFAULT-VALUE})")
    double sloTtft;
    @Option(names = "--slo-tpot-ms", defaultValue = "50", description = "goodput: time-per-output-token target (default: ${DEFAULT-VALUE})")
    double sloTpot;
    @Option(names = "--seed", defaultValue = "1", description = "seeds the workload (default: ${DEFAULT-VALUE})")
    long seed;

    private void plan(ServingSim.Config c, List<Request> reqs, java.io.PrintWriter err) {
        var out = spec.commandLine().getOut();
        List<org.llmwb.engine.sim.PoolPlanner.Candidate> ranked = org.llmwb.engine.sim.PoolPlanner.plan(c, reqs, planGpus, planTp, true,
                line -> err.println("plan: " + line));
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", c.model().name());
            j.put("gpu", c.gpu().id());
            j.put("gpus", planGpus);
            j.put("workload", workload);
            j.put("candidates", ranked);
            Output.json(out, j);
            return;
        }
        out.printf(Locale.ROOT, "%s on %d × %s, %,d requests (%s), SLOs TTFT ≤ %.0f ms and TPOT ≤ %.0f ms; best first:%n", c.model().name(), planGpus, c.gpu().name(),
                reqs.size(), workload, sloTtft, sloTpot);
        out.println("layout                       goodput req/s  in SLO   TTFT p90 ms  TPOT p90 ms  tok/s/GPU");
        for (var k : ranked) {
            out.printf(Locale.ROOT, "%-28s %13.2f  %5.0f%%  %11.1f  %11.2f  %9.1f%n", k.label(), k.goodputReqS(), 100 * k.sloShare(), k.ttftP90Ms(), k.tpotP90Ms(),
                    k.outputTokensPerSPerGpu());
        }
    }

    @Override
    public void run() {
        ModelConfig m = target.model();
        GpuSpec g = target.gpu(common.catalog());
        Router r;
        try {
            r = Router.parse(router);
        } catch (IllegalArgumentException e) {
            throw new InputException("--router: " + e.getMessage());
        }
        if (tp < 1 || replicas < 1 || requests < 1 || !(rate > 0) || input < 1 || output < 1 || maxSeqs < 1 || maxTokens < 1 || sharedPrefix < 0) {
            throw new InputException("--tp, --replicas, --num-requests, --request-rate, --input-tokens, --output-tokens, --max-seqs and --max-batched-tokens must be > 0");
        }
        if (overheadUs < 0) {
            throw new InputException("--step-overhead-us must be >= 0");
        }
        SchedulerConfig sched = SchedulerConfig.continuous(maxTokens, maxSeqs);
        StepTimeModel steps = new RooflineStepModel(m, g, target.weights(), target.kv(), tp, computeEff, memoryEff, overheadUs * 1e-6, 5e-6);
        if (stepProfile != null) {
            if (tp != 1 || prefillTp != 1 || planGpus > 0) {
                throw new InputException("--step-profile: a profile measured on one GPU cannot be rescaled to another TP (--tp, --prefill-tp, --plan-gpus); "
                        + "use the roofline model for those");
            }
            steps = org.llmwb.engine.sim.CalibratedStepModel.read(stepProfile);
        }
        if (prefillReplicas < 0 || prefillTp < 1 || transferGBps < 0) {
            throw new InputException("--prefill-replicas must be >= 0, --prefill-tp >= 1, --transfer-gbps >= 0");
        }
        ServingSim.Config c = ServingSim.Config.of(m, g, target.weights(), target.kv()).withReplicas(replicas, tp).withPrefillPool(prefillReplicas, prefillTp)
                .withRouter(r, overlapWeight).withScheduler(sched, !noPrefix).withStepModels(steps, null).withSlos(sloTtft / 1e3, sloTpot / 1e3)
                .withTransfer(transferGBps * 1e9);
        int vocab = Math.max(2, m.vocabSize());
        if (workload == null) {
            workload = trace != null ? "trace" : "poisson";
        } else if (trace != null && !workload.equals("trace")) {
            throw new InputException("--trace is only read with --workload trace, not with --workload " + workload + " (leave --workload out to replay the trace)");
        }
        List<Request> reqs;
        try {
            reqs = switch (workload) {
                case "poisson", "bursty" -> Workload.generate(new Workload.Spec(workload, requests, rate, 8, input, dist, output, dist, sharedPrefix, 1, seed, vocab));
                case "sessions" -> Sessions.generate(users, turns, rate, thinkS, sharedPrefix, input, output, seed, vocab);
                case "trace" -> {
                    if (trace == null) {
                        throw new InputException("--workload trace needs --trace FILE");
                    }
                    yield org.llmwb.engine.sim.Traces.read(trace, vocab);
                }
                default -> throw new InputException("--workload is poisson, bursty, sessions or trace, not '" + workload + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
        var err = spec.commandLine().getErr();
        if (planGpus > 0) {
            plan(c, reqs, err);
            return;
        }
        ServingSim.Result res = new ServingSim(c).run(reqs, (done, of) -> {
            err.printf(Locale.ROOT, "\rsimulate: %,d of %,d requests done", done, of);
            err.flush();
        });
        err.println();
        var out = spec.commandLine().getOut();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", m.name());
            j.put("gpu", g.id());
            j.put("tp", tp);
            j.put("replicas", replicas);
            j.put("router", r.id());
            j.put("workload", workload);
            j.putAll(res.summary());
            // the flat latency fields and CDFs of engine-run and bench records, so llmwb compare and the Latency view read it
            EngineSweep.putLatency(j, res.requests(), res.metrics());
            j.put("metrics", res.metrics().toJson());
            Output.json(out, j);
            return;
        }
        String pools = prefillReplicas > 0 ? String.format(Locale.ROOT, "disaggregated: %d prefill × TP %d, %d decode × TP %d", prefillReplicas, prefillTp, replicas, tp)
                : String.format(Locale.ROOT, "TP %d × %d replicas", tp, replicas);
        out.printf(Locale.ROOT, "%s on %d × %s (%s), %s router, %,d requests (%s)%n", m.name(), res.gpus(), g.name(), pools, r.id(), reqs.size(), workload);
        out.println("step model: " + res.stepModel());
        out.printf(Locale.ROOT, "KV pool per replica: %,d blocks of 16 tokens%n", res.kvBlocksPerReplica());
        out.print(res.metrics().text());
        out.printf(Locale.ROOT, "output tokens/s per GPU %.1f; prefix-cache hit rate %.1f%% of prompt tokens; %.1f s simulated in %.2f s%n",
                res.outputTokensPerSPerGpu(), 100 * res.prefixHitRate(), res.simulatedS(), res.wallS());
        if (prefillReplicas > 0) {
            out.printf(Locale.ROOT, "mean KV transfer %.3f ms per request%n", res.meanTransferS() * 1e3);
        }
        for (ServingSim.ReplicaStats s : res.replicas()) {
            out.printf(Locale.ROOT, "  replica %d (%s): %,d requests, %,d steps, busy %.0f%%%n", s.index(), s.pool(), s.requests(), s.steps(), 100 * s.busyFraction());
        }
    }
}
