package org.llmwb.engine.sim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * Serving at cluster scale as a discrete-event simulation: {@code replicas} copies of the engine — its own
 * {@code Scheduler}, {@code BlockManager} (paged KV, prefix caching) and metrics, unchanged — each on a virtual clock
 * that a {@link StepTimeModel} advances by what each step costs, behind a {@link Router}. Events are handled in time
 * order: a request arriving while a replica is in a step joins that replica's next step, as in the real engine.
 * Each replica is one model instance of {@code tp} GPUs; its KV pool is what the GPUs' memory leaves after the
 * weights and the activation reserve.
 */
public final class ServingSim {
    /** What to simulate. {@code stepModel} null: the bare roofline of the GPU. */
    public record Config(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, int tp, int replicas, Router router, SchedulerConfig scheduler,
            int blockSize, boolean prefixCaching, double memoryUtilization, StepTimeModel stepModel, double overlapWeight, double sloTtftS, double sloTpotS) {
        public Config {
            if (replicas < 1) {
                throw new InputException("replicas must be >= 1, not " + replicas);
            }
            if (blockSize < 1 || Integer.bitCount(blockSize) != 1) {
                throw new InputException("KV block size must be a power of two, not " + blockSize);
            }
            if (!(memoryUtilization > 0 && memoryUtilization <= 1)) {
                throw new InputException("memory utilization must be in (0, 1]");
            }
        }

        public StepTimeModel steps() {
            return stepModel != null ? stepModel : RooflineStepModel.bound(model, gpu, weights, kv, tp);
        }
    }

    /** Per replica: requests routed, steps, the share of simulated time it was in a step, prompt tokens served from its prefix cache. */
    public record ReplicaStats(int index, int requests, long steps, double busyFraction, long promptTokens, long cachedPromptTokens) {
    }

    public record Result(RunMetrics metrics, List<RequestMetrics> requests, List<ReplicaStats> replicas, int gpus, int kvBlocksPerReplica,
            double simulatedS, double wallS, String stepModel) {
        public double outputTokensPerSPerGpu() {
            return metrics.outputTokensPerS() / gpus;
        }

        /** Prompt tokens served from a prefix cache over all prompt tokens. */
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
            m.put("stepModel", stepModel);
            return m;
        }
    }

    private final Config cfg;

    public ServingSim(Config cfg) {
        this.cfg = cfg;
    }

    /** KV blocks of one replica: tp × (GPU memory × utilization − weights / tp − activations) over the bytes of a block. */
    public static int kvBlocks(Config c) {
        ModelConfig m = c.model();
        double weightsPerGpu = WeightMemory.compute(m, c.weights()).totalBytes() / c.tp();
        double act = KvCapacity.activations(m, c.scheduler().maxBatchedTokens(), c.tp()).value();
        double budgetPerGpu = c.gpu().memoryBytes() * c.memoryUtilization() - weightsPerGpu - act;
        if (budgetPerGpu <= 0) {
            throw new InputException(String.format(java.util.Locale.ROOT, "%s in %s does not fit %d × %s: %.1f GiB of weights and %.1f GiB of activations per GPU, %.1f GiB usable",
                    m.name(), c.weights(), c.tp(), c.gpu().name(), weightsPerGpu / (1L << 30), act / (1L << 30), c.gpu().memoryBytes() * c.memoryUtilization() / (1L << 30)));
        }
        // KV heads split over TP; where TP exceeds them each GPU keeps a copy of one
        double replication = Math.max(1.0, (double) c.tp() / Math.max(1, m.numKvHeads()));
        double blockBytes = KvCache.bytesPerToken(m, c.kv()) * replication * c.blockSize();
        return (int) Math.min(Integer.MAX_VALUE - 1, Math.floor(budgetPerGpu * c.tp() / blockBytes));
    }

    private static final class Replica {
        final int index;
        final SimRunner runner;
        final LlmEngine engine;
        final List<Sequence> live = new ArrayList<>();
        final Set<Long> sentBlocks = new HashSet<>();
        long blocksInFlight;
        int routed;

        Replica(int index, SimRunner runner, LlmEngine engine) {
            this.index = index;
            this.runner = runner;
            this.engine = engine;
        }
    }

    /** Runs every request to completion; requests need not be sorted. */
    public Result run(List<Request> requests) {
        return run(requests, null);
    }

    /** As {@link #run(List)}, calling {@code progress} with (requests finished, of) now and then. */
    public Result run(List<Request> requests, java.util.function.BiConsumer<Integer, Integer> progress) {
        long wall0 = System.nanoTime();
        StepTimeModel model = cfg.steps();
        int blocks = kvBlocks(cfg);
        long kvTok = (long) Math.ceil(KvCache.bytesPerToken(cfg.model(), cfg.kv()));
        Replica[] reps = new Replica[cfg.replicas()];
        for (int i = 0; i < reps.length; i++) {
            SimRunner r = new SimRunner(cfg.model(), model, blocks, cfg.blockSize(), kvTok);
            reps[i] = new Replica(i, r, new LlmEngine(r, new BlockManager(blocks, cfg.blockSize(), cfg.prefixCaching()), cfg.scheduler(), 0, () -> r.now));
        }
        List<Request> reqs = new ArrayList<>(requests);
        reqs.sort(Comparator.comparingDouble(Request::arrival).thenComparingInt(Request::index));
        List<Sequence> all = new ArrayList<>(reqs.size());
        int[] indexOf = new int[reqs.size()];
        int[] replicaOf = new int[reqs.size()];
        int next = 0;
        int finished = 0;
        int rr = 0;
        int idle = 0;
        while (true) {
            Replica busy = null;
            for (Replica r : reps) {
                if (r.engine.hasWork() && (busy == null || r.runner.now < busy.runner.now)) {
                    busy = r;
                }
            }
            double ta = next < reqs.size() ? reqs.get(next).arrival() : Double.POSITIVE_INFINITY;
            if (busy == null && next >= reqs.size()) {
                break;
            }
            if (busy == null || ta <= busy.runner.now) {
                Request q = reqs.get(next);
                Replica to = reps[pick(reps, q, rr++)];
                if (!to.engine.hasWork()) {
                    to.runner.now = Math.max(to.runner.now, ta); // an idle replica waits for the arrival
                }
                Sequence s;
                try {
                    s = to.engine.add(q.prompt(), SamplingParams.greedy(q.maxTokens()).withStop(Set.of(), true), q.priority(), ta);
                } catch (IllegalArgumentException e) {
                    throw new InputException("request " + q.index() + " cannot run on a replica: " + e.getMessage());
                }
                indexOf[all.size()] = q.index();
                replicaOf[all.size()] = to.index;
                all.add(s);
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
            StepEvent e = busy.engine.step(next < reqs.size());
            if (e == null) {
                // nothing runnable now (a dynamic batch filling its window): move on to the next arrival or a window
                double step = Math.max(1e-4, cfg.scheduler().batchWindowS());
                busy.runner.now = Math.min(Double.isInfinite(ta) ? busy.runner.now + step : Math.max(ta, busy.runner.now + 1e-9), busy.runner.now + step);
                if (++idle > 1_000_000) {
                    throw new IllegalStateException("replica " + busy.index + " makes no progress at t = " + busy.runner.now + " s");
                }
                continue;
            }
            idle = 0;
            for (java.util.Iterator<Sequence> it = busy.live.iterator(); it.hasNext();) {
                Sequence s = it.next();
                if (s.status() == Sequence.Status.FINISHED) {
                    it.remove();
                    busy.blocksInFlight -= blocksOf(s.promptLength() + s.params().maxTokens());
                    finished++;
                    if (progress != null && finished % 1000 == 0) {
                        progress.accept(finished, reqs.size());
                    }
                }
            }
        }
        List<RequestMetrics> ms = new ArrayList<>(all.size());
        double first = Double.POSITIVE_INFINITY;
        double end = 0;
        for (int i = 0; i < all.size(); i++) {
            RequestMetrics m = RequestMetrics.of(all.get(i)).withId(indexOf[i]);
            ms.add(m);
            first = Math.min(first, m.arrival());
            end = Math.max(end, m.arrival() + m.latency());
        }
        double duration = all.isEmpty() ? 0 : end - first;
        long[] pt = new long[reps.length];
        long[] ct = new long[reps.length];
        for (int i = 0; i < ms.size(); i++) {
            pt[replicaOf[i]] += ms.get(i).promptTokens();
            ct[replicaOf[i]] += ms.get(i).cachedPromptTokens();
        }
        List<ReplicaStats> stats = new ArrayList<>();
        for (Replica r : reps) {
            stats.add(new ReplicaStats(r.index, r.routed, r.runner.steps, duration > 0 ? r.runner.busy / duration : 0, pt[r.index], ct[r.index]));
        }
        if (progress != null) {
            progress.accept(finished, reqs.size());
        }
        RunMetrics rm = RunMetrics.of(ms, duration, cfg.sloTtftS(), cfg.sloTpotS());
        return new Result(rm, ms, stats, cfg.replicas() * cfg.tp(), blocks, duration, (System.nanoTime() - wall0) / 1e9, model.describe());
    }

    private long blocksOf(int tokens) {
        return (tokens + cfg.blockSize() - 1) / cfg.blockSize();
    }

    private int pick(Replica[] reps, Request q, int turn) {
        switch (cfg.router()) {
            case ROUND_ROBIN:
                return turn % reps.length;
            case LEAST_OUTSTANDING: {
                int best = 0;
                for (int i = 1; i < reps.length; i++) {
                    if (reps[i].live.size() < reps[best].live.size()) {
                        best = i;
                    }
                }
                return best;
            }
            default: {
                long[] hashes = prefixHashes(q.prompt());
                int best = 0;
                double bestCost = Double.POSITIVE_INFINITY;
                for (Replica r : reps) {
                    int overlap = 0;
                    while (overlap < hashes.length && r.sentBlocks.contains(hashes[overlap])) {
                        overlap++;
                    }
                    double cost = cfg.overlapWeight() * (blocksOf(q.prompt().length) - overlap) + r.blocksInFlight;
                    if (cost < bestCost) {
                        bestCost = cost;
                        best = r.index;
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
