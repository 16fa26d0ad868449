package org.llmwb.engine.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.calc.WeightMemory;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;

/**
 * Serving at cluster scale as a discrete-event simulation: replicas of the engine — its own {@code Scheduler},
 * {@code BlockManager} (paged KV, prefix caching) and metrics, unchanged — each on a virtual clock that a
 * {@link StepTimeModel} advances by what each step costs, behind a {@link Router}. Events are handled in time order:
 * a request arriving while a replica is in a step joins that replica's next step, as in the real engine.
 *
 * <p>Aggregated: every replica prefills and decodes. Disaggregated ({@link Config#prefillReplicas} > 0): requests go
 * to a prefill pool whose replicas stop after the first token; the prompt's KV then travels to a decode replica
 * (prompt tokens × KV bytes per token over the transfer bandwidth) and is adopted there, as
 * {@code LlmEngine.adopt} does for the real disaggregated run; a decode replica without room keeps it waiting.
 * Each replica is one model instance of {@code tp} GPUs; its KV pool is what its GPUs' memory leaves after the
 * weights and the activation reserve.
 */
public final class ServingSim {
    /**
     * What to simulate. {@code replicas}: the (decode) replicas of {@code tp} GPUs; {@code prefillReplicas} of
     * {@code prefillTp} GPUs, 0 for aggregated serving; {@code transferBytesPerS}: KV transfer bandwidth between the
     * pools (0: the GPU's link); {@code stepModel}: the replicas' step model (null: the bare roofline), which the
     * prefill pool shares unless {@code prefillStepModel} is given; a roofline model is re-made at each pool's TP.
     */
    public record Config(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, int tp, int replicas, Router router, SchedulerConfig scheduler,
            int blockSize, boolean prefixCaching, double memoryUtilization, StepTimeModel stepModel, double overlapWeight, double sloTtftS, double sloTpotS,
            int prefillReplicas, int prefillTp, StepTimeModel prefillStepModel, double transferBytesPerS) {
        public Config {
            if (replicas < 1 || prefillReplicas < 0) {
                throw new InputException("replicas must be >= 1 (and prefill replicas >= 0), not " + replicas + " / " + prefillReplicas);
            }
            if (tp < 1 || prefillTp < 1) {
                throw new InputException("TP must be >= 1");
            }
            if (blockSize < 1 || Integer.bitCount(blockSize) != 1) {
                throw new InputException("KV block size must be a power of two, not " + blockSize);
            }
            if (!(memoryUtilization > 0 && memoryUtilization <= 1)) {
                throw new InputException("memory utilization must be in (0, 1]");
            }
            if (transferBytesPerS < 0 || overlapWeight < 0) {
                throw new InputException("transfer bandwidth and overlap weight must be >= 0");
            }
        }

        /** Aggregated serving on one replica of one GPU: continuous batching (8,192 tokens, 256 sequences per step), least-outstanding routing, prefix caching, SLOs 1 s TTFT / 50 ms TPOT. */
        public static Config of(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv) {
            return new Config(model, gpu, weights, kv, 1, 1, Router.LEAST_OUTSTANDING, SchedulerConfig.continuous(8192, 256), 16, true, 0.9, null, 4, 1, 0.05, 0, 1,
                    null, 0);
        }

        public Config withReplicas(int n, int gpusEach) {
            return new Config(model, gpu, weights, kv, gpusEach, n, router, scheduler, blockSize, prefixCaching, memoryUtilization, stepModel, overlapWeight, sloTtftS,
                    sloTpotS, prefillReplicas, prefillTp, prefillStepModel, transferBytesPerS);
        }

        /** Disaggregated: {@code n} prefill replicas of {@code gpusEach} GPUs in front of the replicas. */
        public Config withPrefillPool(int n, int gpusEach) {
            return new Config(model, gpu, weights, kv, tp, replicas, router, scheduler, blockSize, prefixCaching, memoryUtilization, stepModel, overlapWeight, sloTtftS,
                    sloTpotS, n, gpusEach, prefillStepModel, transferBytesPerS);
        }

        public Config withRouter(Router r, double overlap) {
            return new Config(model, gpu, weights, kv, tp, replicas, r, scheduler, blockSize, prefixCaching, memoryUtilization, stepModel, overlap, sloTtftS, sloTpotS,
                    prefillReplicas, prefillTp, prefillStepModel, transferBytesPerS);
        }

        public Config withScheduler(SchedulerConfig s, boolean prefix) {
            return new Config(model, gpu, weights, kv, tp, replicas, router, s, blockSize, prefix, memoryUtilization, stepModel, overlapWeight, sloTtftS, sloTpotS,
                    prefillReplicas, prefillTp, prefillStepModel, transferBytesPerS);
        }

        /** Step models of the (decode) replicas and of the prefill pool (null: the bare roofline). */
        public Config withStepModels(StepTimeModel replicasModel, StepTimeModel prefillModel) {
            return new Config(model, gpu, weights, kv, tp, replicas, router, scheduler, blockSize, prefixCaching, memoryUtilization, replicasModel, overlapWeight,
                    sloTtftS, sloTpotS, prefillReplicas, prefillTp, prefillModel, transferBytesPerS);
        }

        public Config withSlos(double ttftS, double tpotS) {
            return new Config(model, gpu, weights, kv, tp, replicas, router, scheduler, blockSize, prefixCaching, memoryUtilization, stepModel, overlapWeight, ttftS,
                    tpotS, prefillReplicas, prefillTp, prefillStepModel, transferBytesPerS);
        }

        public Config withTransfer(double bytesPerS) {
            return new Config(model, gpu, weights, kv, tp, replicas, router, scheduler, blockSize, prefixCaching, memoryUtilization, stepModel, overlapWeight, sloTtftS,
                    sloTpotS, prefillReplicas, prefillTp, prefillStepModel, bytesPerS);
        }

        public boolean disaggregated() {
            return prefillReplicas > 0;
        }

        public int gpus() {
            return replicas * tp + prefillReplicas * prefillTp;
        }

        /**
         * The step model of a pool: its own, else the replicas' (the prefill pool shares their efficiencies and
         * overheads), else the bare roofline; a roofline model always at the pool's TP, whatever TP it was made for.
         */
        StepTimeModel steps(boolean prefillPool) {
            int n = prefillPool ? prefillTp : tp;
            StepTimeModel m = prefillPool && prefillStepModel != null ? prefillStepModel : stepModel;
            if (m == null) {
                return RooflineStepModel.bound(model, gpu, weights, kv, n);
            }
            return m instanceof RooflineStepModel r && r.tp() != n ? r.withTp(n) : m;
        }

        double transfer() {
            if (transferBytesPerS > 0) {
                return transferBytesPerS;
            }
            return gpu.linkBandwidthPerDirection() > 0 ? gpu.linkBandwidthPerDirection() : gpu.pcieBandwidthPerDirection();
        }
    }

    /** Per replica: its pool, requests routed, steps, the share of simulated time it was in a step, prompt tokens it prefilled and those served from its prefix cache. */
    public record ReplicaStats(int index, String pool, int requests, long steps, double busyFraction, long promptTokens, long cachedPromptTokens) {
    }

    public record Result(RunMetrics metrics, List<RequestMetrics> requests, List<ReplicaStats> replicas, int gpus, int kvBlocksPerReplica,
            double simulatedS, double wallS, String stepModel, double meanTransferS) {
        public double outputTokensPerSPerGpu() {
            return metrics.outputTokensPerS() / gpus;
        }

        /** Prompt tokens served from a prefix cache over all prompt tokens prefilled. */
        public double prefixHitRate() {
            long p = replicas.stream().mapToLong(ReplicaStats::promptTokens).sum();
            return p == 0 ? 0 : (double) replicas.stream().mapToLong(ReplicaStats::cachedPromptTokens).sum() / p;
        }

        public Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gpus", gpus);
            m.put("kvBlocksPerReplica", kvBlocksPerReplica);
            m.put("simulatedS", simulatedS);
            m.put("wallS", wallS);
            m.put("outputTokensPerSPerGpu", outputTokensPerSPerGpu());
            m.put("prefixHitRate", prefixHitRate());
            m.put("meanKvTransferMs", meanTransferS * 1e3);
            m.put("stepModel", stepModel);
            return m;
        }
    }

    private final Config cfg;

    public ServingSim(Config cfg) {
        this.cfg = cfg;
    }

    /** KV blocks of one replica of the given TP: tp × (GPU memory × utilization − weights / tp − activations) over a block's bytes. */
    public static int kvBlocks(Config c) {
        return kvBlocks(c, c.tp());
    }

    static int kvBlocks(Config c, int tp) {
        ModelConfig m = c.model();
        double weightsPerGpu = WeightMemory.compute(m, c.weights()).totalBytes() / tp;
        double act = KvCapacity.activations(m, c.scheduler().maxBatchedTokens(), tp).value();
        double budgetPerGpu = c.gpu().memoryBytes() * c.memoryUtilization() - weightsPerGpu - act;
        if (budgetPerGpu <= 0) {
            throw new InputException(String.format(Locale.ROOT, "%s in %s does not fit %d × %s: %.1f GiB of weights and %.1f GiB of activations per GPU, %.1f GiB usable",
                    m.name(), c.weights(), tp, c.gpu().name(), weightsPerGpu / (1L << 30), act / (1L << 30), c.gpu().memoryBytes() * c.memoryUtilization() / (1L << 30)));
        }
        // KV heads split over TP; where TP exceeds them each GPU keeps a copy of one
        double replication = Math.max(1.0, (double) tp / Math.max(1, m.numKvHeads()));
        double blockBytes = KvCache.bytesPerToken(m, c.kv()) * replication * c.blockSize();
        return (int) Math.min(Integer.MAX_VALUE - 1, Math.floor(budgetPerGpu * tp / blockBytes));
    }

    private static final class Replica {
        final int index;
        final boolean prefill;
        final SimRunner runner;
        final LlmEngine engine;
        final List<Sequence> live = new ArrayList<>();
        final Set<Long> sentBlocks = new HashSet<>();
        final ArrayDeque<Handoff> waiting = new ArrayDeque<>();
        long blocksInFlight;
        int routed;
        long promptTokens;
        long cachedTokens;

        Replica(int index, boolean prefill, SimRunner runner, LlmEngine engine) {
            this.index = index;
            this.prefill = prefill;
            this.runner = runner;
            this.engine = engine;
        }

        boolean hasWork() {
            return engine.hasWork();
        }
    }

    /** A prefilled request on its way to (or waiting at) a decode replica. */
    private record Handoff(Request request, int firstToken, double firstTime, double readyAt) {
    }

    /** Runs every request to completion; requests need not be sorted. */
    public Result run(List<Request> requests) {
        return run(requests, null);
    }

    /** As {@link #run(List)}, calling {@code progress} with (requests finished, of) now and then. */
    public Result run(List<Request> requests, java.util.function.BiConsumer<Integer, Integer> progress) {
        long wall0 = System.nanoTime();
        boolean disagg = cfg.disaggregated();
        int blocks = kvBlocks(cfg, cfg.tp());
        int prefillBlocks = disagg ? kvBlocks(cfg, cfg.prefillTp()) : 0;
        double kvTokBytes = KvCache.bytesPerToken(cfg.model(), cfg.kv());
        long kvTok = (long) Math.ceil(kvTokBytes);
        List<Replica> front = new ArrayList<>(); // where requests arrive: the prefill pool, or every replica
        List<Replica> decode = new ArrayList<>();
        List<Replica> all = new ArrayList<>();
        for (int i = 0; i < cfg.prefillReplicas(); i++) {
            all.add(replica(all.size(), true, prefillBlocks, kvTok));
        }
        for (int i = 0; i < cfg.replicas(); i++) {
            all.add(replica(all.size(), false, blocks, kvTok));
        }
        for (Replica r : all) {
            (r.prefill ? front : decode).add(r);
        }
        if (!disagg) {
            front = decode;
        }
        List<Request> reqs = new ArrayList<>(requests);
        reqs.sort(Comparator.comparingDouble(Request::arrival).thenComparingInt(Request::index));
        Map<Sequence, Request> requestOf = new java.util.IdentityHashMap<>();
        List<Sequence> served = new ArrayList<>(reqs.size()); // the sequences whose metrics count: decode side when disaggregated
        List<Request> servedReq = new ArrayList<>(reqs.size());
        PriorityQueue<Handoff> inTransit = new PriorityQueue<>(Comparator.comparingDouble(Handoff::readyAt));
        double transferSum = 0;
        int next = 0;
        int finished = 0;
        int rr = 0;
        int idle = 0;
        while (true) {
            Replica busy = null;
            for (Replica r : all) {
                if (r.hasWork() && (busy == null || r.runner.now < busy.runner.now)) {
                    busy = r;
                }
            }
            double ta = next < reqs.size() ? reqs.get(next).arrival() : Double.POSITIVE_INFINITY;
            double th = inTransit.isEmpty() ? Double.POSITIVE_INFINITY : inTransit.peek().readyAt();
            double tb = busy == null ? Double.POSITIVE_INFINITY : busy.runner.now;
            if (Double.isInfinite(ta) && Double.isInfinite(th) && busy == null) {
                if (decode.stream().anyMatch(r -> !r.waiting.isEmpty())) {
                    throw new InputException("a prefilled request cannot fit any decode replica's KV pool");
                }
                break;
            }
            if (th <= ta && th <= tb) { // a KV transfer lands: the least-loaded decode replica takes it
                Handoff h = inTransit.poll();
                Replica to = decode.get(0);
                for (Replica r : decode) {
                    if (r.live.size() + r.waiting.size() < to.live.size() + to.waiting.size()) {
                        to = r;
                    }
                }
                if (!to.hasWork()) {
                    to.runner.now = Math.max(to.runner.now, h.readyAt());
                }
                to.waiting.add(h);
                admitWaiting(to, served, servedReq);
                continue;
            }
            if (ta <= tb) {
                Request q = reqs.get(next);
                Replica to = front.get(pick(front, q, rr++));
                if (!to.hasWork()) {
                    to.runner.now = Math.max(to.runner.now, ta); // an idle replica waits for the arrival
                }
                Sequence s;
                try {
                    s = to.engine.add(q.prompt(), SamplingParams.greedy(disagg ? 1 : q.maxTokens()).withStop(Set.of(), true), q.priority(), ta);
                } catch (IllegalArgumentException e) {
                    throw new InputException("request " + q.index() + " cannot run on a replica: " + e.getMessage());
                }
                requestOf.put(s, q);
                if (!disagg) {
                    served.add(s);
                    servedReq.add(q);
                }
                to.live.add(s);
                to.routed++;
                to.blocksInFlight += blocksOf(q.prompt().length + q.maxTokens());
                if (cfg.router() == Router.KV_AWARE) {
                    for (long h : prefixHashes(q.prompt())) {
                        to.sentBlocks.add(h);
                    }
                }
                next++;
                continue;
            }
            StepEvent e = busy.engine.step(next < reqs.size() || !inTransit.isEmpty());
            if (e == null) {
                // nothing runnable now (a dynamic batch filling its window): move on to the next event or a window
                double step = Math.max(1e-4, cfg.scheduler().batchWindowS());
                double nextEvent = Math.min(ta, th);
                busy.runner.now = Double.isInfinite(nextEvent) ? busy.runner.now + step : Math.min(Math.max(nextEvent, busy.runner.now + 1e-9), busy.runner.now + step);
                if (++idle > 1_000_000) {
                    throw new IllegalStateException("replica " + busy.index + " makes no progress at t = " + busy.runner.now + " s");
                }
                continue;
            }
            idle = 0;
            for (java.util.Iterator<Sequence> it = busy.live.iterator(); it.hasNext();) {
                Sequence s = it.next();
                if (s.status() != Sequence.Status.FINISHED) {
                    continue;
                }
                it.remove();
                busy.blocksInFlight -= blocksOf(s.promptLength() + s.params().maxTokens());
                if (busy.prefill || !disagg) {
                    busy.promptTokens += s.promptLength();
                    busy.cachedTokens += s.cachedPromptTokens();
                }
                if (busy.prefill) {
                    Request q = requestOf.remove(s);
                    double first = s.tokenTimes().get(0);
                    double move = q.prompt().length * kvTokBytes / cfg.transfer();
                    transferSum += move;
                    if (q.maxTokens() <= 1) { // nothing left to decode: it is done where it was prefilled
                        served.add(s);
                        servedReq.add(q);
                        finished++;
                    } else {
                        inTransit.add(new Handoff(q, s.output()[0], first, first + move));
                    }
                } else {
                    finished++;
                    if (progress != null && finished % 1000 == 0) {
                        progress.accept(finished, reqs.size());
                    }
                }
            }
            if (!busy.prefill && !busy.waiting.isEmpty()) {
                admitWaiting(busy, served, servedReq);
            }
        }
        List<RequestMetrics> ms = new ArrayList<>(served.size());
        double first = Double.POSITIVE_INFINITY;
        double end = 0;
        for (int i = 0; i < served.size(); i++) {
            RequestMetrics m = RequestMetrics.of(served.get(i)).withId(servedReq.get(i).index());
            ms.add(m);
            first = Math.min(first, m.arrival());
            end = Math.max(end, m.arrival() + m.latency());
        }
        double duration = served.isEmpty() ? 0 : end - first;
        List<ReplicaStats> stats = new ArrayList<>();
        for (Replica r : all) {
            stats.add(new ReplicaStats(r.index, r.prefill ? "prefill" : disagg ? "decode" : "aggregated", r.routed, r.runner.steps,
                    duration > 0 ? r.runner.busy / duration : 0, r.promptTokens, r.cachedTokens));
        }
        if (progress != null) {
            progress.accept(finished, reqs.size());
        }
        RunMetrics rm = RunMetrics.of(ms, duration, cfg.sloTtftS(), cfg.sloTpotS());
        String model = disagg ? "prefill: " + cfg.steps(true).describe() + "; decode: " + cfg.steps(false).describe() : cfg.steps(false).describe();
        return new Result(rm, ms, stats, cfg.gpus(), blocks, duration, (System.nanoTime() - wall0) / 1e9, model,
                disagg && !reqs.isEmpty() ? transferSum / reqs.size() : 0);
    }

    private Replica replica(int index, boolean prefill, int blocks, long kvTok) {
        SimRunner r = new SimRunner(cfg.model(), cfg.steps(prefill), blocks, cfg.blockSize(), kvTok);
        LlmEngine e = new LlmEngine(r, new BlockManager(blocks, cfg.blockSize(), cfg.prefixCaching()), cfg.scheduler(), 0, () -> r.now);
        return new Replica(index, prefill, r, e);
    }

    /** Adopts the replica's waiting handoffs in order while its pool has room (at its own clock). */
    private void admitWaiting(Replica r, List<Sequence> served, List<Request> servedReq) {
        while (!r.waiting.isEmpty()) {
            Handoff h = r.waiting.peek();
            if (h.readyAt() > r.runner.now) {
                if (r.hasWork()) {
                    return; // it lands during a later step
                }
                r.runner.now = h.readyAt();
            }
            Request q = h.request();
            Sequence s;
            try {
                s = r.engine.adopt(q.prompt(), h.firstToken(), h.firstTime(), SamplingParams.greedy(q.maxTokens()).withStop(Set.of(), true), q.priority(), q.arrival());
            } catch (IllegalArgumentException e) {
                throw new InputException("request " + q.index() + " cannot run on a decode replica: " + e.getMessage());
            }
            if (s == null) {
                if (!r.hasWork()) {
                    throw new InputException("request " + q.index() + " (" + q.prompt().length + " prompt tokens) does not fit an empty decode replica's KV pool");
                }
                return;
            }
            r.waiting.poll();
            served.add(s);
            servedReq.add(q);
            r.live.add(s);
            r.routed++;
            r.blocksInFlight += blocksOf(q.prompt().length + q.maxTokens());
        }
    }

    private long blocksOf(int tokens) {
        return (tokens + cfg.blockSize() - 1) / cfg.blockSize();
    }

    private int pick(List<Replica> reps, Request q, int turn) {
        switch (cfg.router()) {
            case ROUND_ROBIN:
                return turn % reps.size();
            case LEAST_OUTSTANDING: {
                int best = 0;
                for (int i = 1; i < reps.size(); i++) {
                    if (reps.get(i).live.size() < reps.get(best).live.size()) {
                        best = i;
                    }
                }
                return best;
            }
            default: {
                long[] hashes = prefixHashes(q.prompt());
                int best = 0;
                double bestCost = Double.POSITIVE_INFINITY;
                for (int i = 0; i < reps.size(); i++) {
                    Replica r = reps.get(i);
                    int overlap = 0;
                    while (overlap < hashes.length && r.sentBlocks.contains(hashes[overlap])) {
                        overlap++;
                    }
                    double cost = cfg.overlapWeight() * (blocksOf(q.prompt().length) - overlap) + r.blocksInFlight;
                    if (cost < bestCost) {
                        bestCost = cost;
                        best = i;
                    }
                }
                return best;
            }
        }
    }

    /** Chained hashes of the prompt's full blocks: block i's hash covers tokens 0 .. (i + 1) · blockSize. */
    private long[] prefixHashes(int[] prompt) {
        int n = prompt.length / cfg.blockSize();
        long[] out = new long[n];
        long h = 1469598103934665603L;
        for (int b = 0; b < n; b++) {
            for (int j = b * cfg.blockSize(); j < (b + 1) * cfg.blockSize(); j++) {
                h = (h ^ prompt[j]) * 1099511628211L;
            }
            out[b] = h;
        }
        return out;
    }
}
