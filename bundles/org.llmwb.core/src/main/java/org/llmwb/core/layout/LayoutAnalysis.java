package org.llmwb.core.layout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plan.ParallelConfig;
import org.llmwb.core.plan.PlanInput;
import org.llmwb.core.plan.PlanResult;
import org.llmwb.core.plan.Planner;

/**
 * What a {@link Layout} means: each pool planned by the core {@link Planner} on the GPUs it really
 * has (so a TP group that straddles two nodes is costed over the network), each GPU's role and
 * memory, the prefill→decode KV transfer of a disaggregated layout, and every problem with a hint.
 * A pure function of the layout and the GPU catalog; the editor's side panel only renders it.
 */
public final class LayoutAnalysis {
    private LayoutAnalysis() {
    }

    /** One pool: its parallelism and the plan (null when the pool cannot be planned). */
    public record PoolReport(Layout.Pool pool, ParallelConfig parallel, PlanResult plan, GpuSpec gpu, int nodeLocalRanks) {
    }

    /**
     * One GPU's place. Indices are -1 for a GPU in no pool.
     *
     * @param memory the planner's per-GPU figure for this GPU's pool (the most loaded stage), or null
     */
    public record GpuReport(Layout.Gpu gpu, Layout.Pool pool, int rank, int replica, int tpGroup, int tpRank, int ppStage, int epGroup,
            double memoryBytes, PlanResult.GpuMemory memory) {
        public boolean idle() {
            return pool == null;
        }
    }

    /** The KV cache of one prompt moving from a prefill worker to a decode worker. */
    public record Transfer(String from, String to, double bytes, String link, double bandwidth, double seconds) {
    }

    /** Everything the editor shows. */
    public record Report(ModelConfig model, Precision weights, Precision kv, List<PoolReport> pools, List<GpuReport> gpus,
            List<Transfer> transfers, List<Problem> problems) {
        public boolean valid() {
            return problems.stream().noneMatch(Problem::isError);
        }

        public GpuReport gpu(String id) {
            return gpus.stream().filter(g -> g.gpu().id().equals(id)).findFirst().orElse(null);
        }

        public PoolReport pool(String name) {
            return pools.stream().filter(p -> p.pool().name().equals(name)).findFirst().orElse(null);
        }
    }

    public static Report analyze(Layout l, GpuCatalog catalog, String source) {
        List<Problem> problems = new ArrayList<>();
        ModelConfig model = null;
        Precision weights = null;
        Precision kv = null;
        try {
            model = ModelPresets.resolve(l.model());
        } catch (InputException e) {
            problems.add(Problem.error(SourceLocation.of(source), "layout-model", e.getMessage(), "pick a preset model or a config.json path"));
        }
        try {
            weights = Precision.parse(l.weights());
            kv = Precision.kvOrDefault(l.kv().isEmpty() ? null : l.kv(), weights);
        } catch (InputException e) {
            problems.add(Problem.error(SourceLocation.of(source), "layout-precision", e.getMessage(), null));
        }
        Map<String, GpuSpec> specs = new LinkedHashMap<>();
        for (Layout.Node n : l.nodes()) {
            try {
                specs.put(n.name(), fabricAdjusted(catalog.get(n.gpuType()), n.fabric()));
            } catch (InputException e) {
                problems.add(Problem.error(at(source, n.line()), "layout-gpu", "node '" + n.name() + "': " + e.getMessage(), null));
            }
        }
        if (l.nodes().isEmpty()) {
            problems.add(Problem.error(SourceLocation.of(source), "layout-empty", "the cluster has no nodes", "add a node from the palette"));
        }
        if (l.pools().isEmpty()) {
            problems.add(Problem.error(SourceLocation.of(source), "layout-no-pools", "no pool serves the model", "add a pool and drag GPUs into it"));
        }
        checkRoles(l, source, problems);

        List<PoolReport> pools = new ArrayList<>();
        Map<Layout.Gpu, GpuReport> byGpu = new LinkedHashMap<>();
        for (Layout.Pool p : l.pools()) {
            PoolReport r = planPool(l, p, model, weights, kv, specs, source, problems);
            pools.add(r);
            for (int rank = 0; rank < p.gpus().size(); rank++) {
                byGpu.put(p.gpus().get(rank), gpuReport(p, rank, r));
            }
        }
        List<GpuReport> gpus = new ArrayList<>();
        int idle = 0;
        for (Layout.Gpu g : l.allGpus()) {
            GpuReport r = byGpu.get(g);
            if (r == null) {
                GpuSpec s = specs.get(g.node().name());
                r = new GpuReport(g, null, -1, -1, -1, -1, -1, -1, s == null ? 0 : s.memoryBytes(), null);
                idle++;
            }
            gpus.add(r);
        }
        if (idle > 0) {
            problems.add(Problem.info(SourceLocation.of(source), "layout-idle", idle + " GPU" + (idle > 1 ? "s are" : " is") + " in no pool (idle)",
                    "drag them into a pool or remove them"));
        }
        List<Transfer> transfers = model == null || kv == null ? List.of() : transfers(l, model, kv, specs);
        return new Report(model, weights, kv, List.copyOf(pools), List.copyOf(gpus), transfers, List.copyOf(problems));
    }

    private static SourceLocation at(String source, int line) {
        return line > 0 ? new SourceLocation(source, line, 1) : SourceLocation.of(source);
    }

    /** A PCIe-only node has no scale-up link: the planner then costs collectives over PCIe. */
    private static GpuSpec fabricAdjusted(GpuSpec g, Layout.Fabric f) {
        if (f == Layout.Fabric.PCIE && g.linkBandwidth() > 0) {
            return new GpuSpec(g.id(), g.name(), g.vendor(), g.memoryBytes(), g.memoryType(), g.memoryBandwidth(), g.denseFlops(), g.sparsityNote(),
                    g.pcieName(), 0, g.pcieName(), g.pcieBandwidth(), g.source(), g.notes(), g.origin());
        }
        return g;
    }

    private static void checkRoles(Layout l, String source, List<Problem> problems) {
        boolean prefill = l.pools().stream().anyMatch(p -> p.role() == Layout.Role.PREFILL);
        boolean decode = l.pools().stream().anyMatch(p -> p.role() == Layout.Role.DECODE);
        if (l.mode() == Layout.Mode.AGGREGATED) {
            for (Layout.Pool p : l.pools()) {
                if (p.role() != Layout.Role.AGGREGATED) {
                    problems.add(Problem.error(at(source, p.line()), "layout-role", "pool '" + p.name() + "' has role " + lower(p.role())
                            + " but the layout is aggregated", "set mode: disaggregated, or the pool's role to aggregated"));
                }
            }
        } else if (!l.pools().isEmpty()) {
            if (!prefill || !decode) {
                problems.add(Problem.error(SourceLocation.of(source), "layout-pd", "a disaggregated layout needs a prefill pool and a decode pool (has "
                        + (prefill ? "prefill" : "no prefill") + ", " + (decode ? "decode" : "no decode") + ")", "set a pool's role"));
            }
            for (Layout.Pool p : l.pools()) {
                if (p.role() == Layout.Role.AGGREGATED) {
                    problems.add(Problem.warning(at(source, p.line()), "layout-role", "pool '" + p.name()
                            + "' is aggregated in a disaggregated layout: it serves whole requests beside the P/D pools", null));
                }
            }
        }
    }

    private static PoolReport planPool(Layout l, Layout.Pool p, ModelConfig model, Precision weights, Precision kv, Map<String, GpuSpec> specs,
            String source, List<Problem> problems) {
        SourceLocation at = at(source, p.line());
        String who = "pool '" + p.name() + "': ";
        int n = p.gpus().size();
        int size = p.replicaSize();
        int replicas = Math.max(1, n / size);
        ParallelConfig pc = new ParallelConfig(p.tp(), p.pp(), replicas, p.ep(), p.cp(), p.sp());
        if (n == 0) {
            problems.add(Problem.error(at, "pool-empty", who + "no GPUs", "drag GPUs into it, or delete it"));
            return new PoolReport(p, pc, null, null, 0);
        }
        if (n % size != 0) {
            String tpcp = "TP" + p.tp() + (p.pp() > 1 ? "×PP" + p.pp() : "") + (p.cp() > 1 ? "×CP" + p.cp() : "");
            problems.add(Problem.error(at, "pool-partial", who + n + " GPUs do not make whole replicas of " + tpcp + " (" + size + " GPUs each)",
                    n < size ? "add " + (size - n) + " GPU" + (size - n > 1 ? "s" : "") + " or lower TP/PP"
                            : "add " + (size - n % size) + " or remove " + (n % size) + " GPU" + (n % size > 1 ? "s" : "")));
        }
        GpuSpec gpu = null;
        for (Layout.Gpu g : p.gpus()) {
            GpuSpec s = specs.get(g.node().name());
            if (s != null && gpu != null && !s.id().equals(gpu.id())) {
                problems.add(Problem.warning(at, "pool-mixed", who + "mixes " + gpu.name() + " and " + s.name() + "; sized for the smaller",
                        "keep one GPU type per pool"));
                if (s.memoryBytes() < gpu.memoryBytes()) {
                    gpu = s;
                }
            } else if (gpu == null) {
                gpu = s;
            }
        }
        int local = nodeLocalRanks(p);
        if (model == null || weights == null || gpu == null) {
            return new PoolReport(p, pc, null, gpu, local);
        }
        PlanResult plan;
        try {
            long batch = p.role() == Layout.Role.PREFILL ? 1 : l.batch();
            plan = Planner.plan(new PlanInput(model, gpu, weights, kv, pc, l.context(), batch, Math.min(l.promptTokens(), l.context()), local,
                    l.networkGbs() * Units.GB, l.utilization(), org.llmwb.core.calc.KvCapacity.DEFAULT_BATCH_TOKENS));
        } catch (InputException e) {
            problems.add(Problem.error(at, "pool-plan", who + e.getMessage(), null));
            return new PoolReport(p, pc, null, gpu, local);
        }
        for (Problem q : plan.problems()) {
            if (q.code().equals("world")) {
                continue; // the editor shows the GPU count itself
            }
            problems.add(new Problem(q.severity(), at, q.code(), who + q.message(), q.hint()));
        }
        return new PoolReport(p, pc, plan, gpu, local);
    }

    /**
     * The largest group size k such that every complete aligned run of k consecutive ranks sits on
     * one node: collectives within groups of up to k ranks stay on the node's fabric. (A trailing
     * partial run, as in a pool with a GPU too many, is reported elsewhere and ignored here.)
     */
    static int nodeLocalRanks(Layout.Pool p) {
        List<Layout.Gpu> g = p.gpus();
        for (int k = g.size(); k > 1; k--) {
            boolean ok = true;
            for (int i = 0; i + k <= g.size() && ok; i += k) {
                for (int j = i + 1; j < i + k; j++) {
                    if (g.get(j).node() != g.get(i).node()) {
                        ok = false;
                        break;
                    }
                }
            }
            if (ok) {
                return k;
            }
        }
        return 1;
    }

    /** Rank order TP innermost, then CP, DP, PP; EP groups split the tp × dp GPUs of a stage. */
    private static GpuReport gpuReport(Layout.Pool p, int rank, PoolReport r) {
        ParallelConfig pc = r.parallel();
        int tp = pc.tp();
        int stageSize = tp * pc.cp() * pc.dp();
        int ppStage = rank / stageSize;
        int inStage = rank % stageSize;
        int replica = inStage / (tp * pc.cp());
        int epGroup = pc.ep() > 1 ? inStage / Math.max(1, stageSize / pc.ep()) : -1;
        PlanResult.GpuMemory mem = r.plan() == null ? null : r.plan().memory();
        return new GpuReport(p.gpus().get(rank), p, rank, replica, rank / tp, rank % tp, ppStage, epGroup,
                r.gpu() == null ? 0 : r.gpu().memoryBytes(), mem);
    }

    /**
     * KV of one prompt ({@code promptTokens}) moved from each prefill pool to each decode pool, over
     * the scale-up fabric when both sit on one node and over the network otherwise. Every decode
     * rank receives its shard in parallel, so the time is the bytes of one rank over one link.
     */
    private static List<Transfer> transfers(Layout l, ModelConfig model, Precision kv, Map<String, GpuSpec> specs) {
        List<Transfer> out = new ArrayList<>();
        if (l.mode() != Layout.Mode.DISAGGREGATED) {
            return out;
        }
        double bytes = KvCache.bytesPerToken(model, kv) * Math.min(l.promptTokens(), l.context());
        for (Layout.Pool pre : l.pools()) {
            for (Layout.Pool dec : l.pools()) {
                if (pre.role() != Layout.Role.PREFILL || dec.role() != Layout.Role.DECODE || pre.gpus().isEmpty() || dec.gpus().isEmpty()) {
                    continue;
                }
                boolean sameNode = pre.gpus().stream().allMatch(g -> g.node() == dec.gpus().get(0).node())
                        && dec.gpus().stream().allMatch(g -> g.node() == dec.gpus().get(0).node());
                GpuSpec s = specs.get(dec.gpus().get(0).node().name());
                String link;
                double bw;
                if (sameNode && s != null) {
                    link = s.linkBandwidth() > 0 ? s.linkName() : s.pcieName();
                    bw = s.linkBandwidth() > 0 ? s.linkBandwidthPerDirection() : s.pcieBandwidthPerDirection();
                } else {
                    link = l.networkName();
                    bw = l.networkGbs() * Units.GB;
                }
                int lanes = Math.max(1, Math.min(pre.tp() * pre.pp(), dec.tp() * dec.pp()));
                out.add(new Transfer(pre.name(), dec.name(), bytes, link, bw * lanes, bytes / (bw * lanes)));
            }
        }
        return out;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT);
    }
}
