package org.llmwb.core.plan;

import static org.llmwb.core.Formula.num;

import java.util.ArrayList;
import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.Units;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * Applies a {@link ParallelConfig} to a model on a GPU type: validates it (saying what to change),
 * sizes each GPU's memory, estimates each step's collectives over the links they cross, bounds
 * step times, and exports engine command lines. A pure function of its {@link PlanInput}.
 */
public final class Planner {
    /** Start-up latency per step of a collective (α of the α-β model), seconds. */
    static final double ALPHA_NVLINK = 3e-6;
    static final double ALPHA_PCIE = 5e-6;
    static final double ALPHA_NETWORK = 8e-6;
    static final double ACT_BYTES = 2; // BF16 activations on the wire

    /** The α of a link kind: "nvlink", "pcie" or "network". */
    public static double alpha(String link) {
        return switch (link) {
            case "nvlink" -> ALPHA_NVLINK;
            case "pcie" -> ALPHA_PCIE;
            case "network" -> ALPHA_NETWORK;
            default -> throw new IllegalArgumentException("link " + link);
        };
    }

    private Planner() {
    }

    public static PlanResult plan(PlanInput in) {
        ModelConfig m = in.model();
        ParallelConfig p = in.parallel();
        GpuSpec g = in.gpu();
        List<Problem> problems = new ArrayList<>();
        List<Formula> fs = new ArrayList<>();
        if (p.tp() < 1 || p.pp() < 1 || p.dp() < 1 || p.ep() < 1 || p.cp() < 1) {
            throw new InputException("parallel sizes must be >= 1, got " + p);
        }
        if (in.context() <= 0 || in.batch() <= 0) {
            throw new InputException("context and batch must be > 0");
        }
        validate(in, problems);

        // --- weights of the most loaded GPU ---
        int layersPerStage = (m.numLayers() + p.pp() - 1) / p.pp();
        // the most loaded stage: all-MoE when an MoE model has more MoE layers than one stage holds
        int moeLayersPerStage = Math.min(layersPerStage, m.numMoeLayers());
        int denseLayersPerStage = layersPerStage - moeLayersPerStage;
        int kvHeadsPerGpu = Math.max(1, m.numKvHeads() / p.tp());
        double linear = layersPerStage * attentionLinearPerGpu(m, p.tp(), kvHeadsPerGpu) + denseLayersPerStage * (double) m.denseMlpParams() / p.tp()
                + moeLayersPerStage * expertLinearPerGpu(m, p);
        double vocabShard = (double) m.embeddingParams() / p.tp();
        double other = layersPerStage * (m.normParamsPerLayer() + attentionBiasPerGpu(m, p.tp(), kvHeadsPerGpu))
                + moeLayersPerStage * (double) m.routerParams() + m.finalNormParams()
                + (p.pp() == 1 ? vocabShard * (m.tieEmbeddings() ? 1 : 2) : vocabShard); // first stage: embedding; last: head
        Precision w = in.weights();
        double linearBytesPerValue = w.bytesPerValue();
        double otherBytesPerValue = w.isQuantized() ? 2 : w.bytesPerValue();
        double weightBytes = linear * linearBytesPerValue + other * otherBytesPerValue;
        fs.add(new Formula("weights per GPU", "linear shard × bits/8 + other shard × bytes (stage of ⌈layers/pp⌉ layers, TP-sharded, experts over EP)",
                num(Math.round(linear)) + " × " + num(linearBytesPerValue) + " + " + num(Math.round(other)) + " × " + num(otherBytesPerValue),
                weightBytes, "B"));

        // --- KV and activations ---
        double kvElemsPerLayer = m.attention() == ModelConfig.Attention.MLA ? m.kvElementsPerTokenPerLayer() : 2.0 * kvHeadsPerGpu * m.headDim();
        double kvPerToken = layersPerStage * kvElemsPerLayer * in.kv().bytesPerValue() / p.cp();
        fs.add(new Formula("KV bytes per token per GPU",
                m.attention() == ModelConfig.Attention.MLA ? "layersPerStage × (kvLoraRank + ropeDim) × bytes ÷ cp (latent replicated over TP)"
                        : "layersPerStage × 2 × kvHeadsPerGpu × headDim × bytes ÷ cp",
                layersPerStage + " × " + num(kvElemsPerLayer) + " × " + num(in.kv().bytesPerValue()) + " ÷ " + p.cp(), kvPerToken, "B"));
        Formula act = KvCapacity.activations(m, Math.max(1, in.maxBatchTokens() / p.cp()), p.tp());
        fs.add(act);
        double usable = g.memoryBytes() * in.utilization();
        double budget = usable - weightBytes - act.value();
        fs.add(new Formula("KV budget per GPU", "memory × utilization − weights − activations",
                num(g.memoryBytes()) + " × " + in.utilization() + " − " + num(weightBytes) + " − " + num(act.value()), budget, "B"));
        double kvPerSeq = kvPerToken * in.context();
        long maxSeqs = budget <= 0 ? 0 : (long) Math.floor(budget / kvPerSeq);
        fs.add(new Formula("max sequences per replica", "floor(KV budget ÷ (kvBytesPerTokenPerGpu × context))",
                "floor(" + num(Math.max(0, budget)) + " ÷ (" + num(kvPerToken) + " × " + in.context() + "))", maxSeqs, "sequences"));
        long used = Math.min(maxSeqs, in.batch());
        double kvUsed = used * kvPerSeq;
        PlanResult.GpuMemory mem = new PlanResult.GpuMemory(g.memoryBytes(), usable, weightBytes, act.value(), budget, kvUsed,
                g.memoryBytes() - weightBytes - act.value() - Math.max(0, budget));
        if (weightBytes + act.value() > usable) {
            problems.add(Problem.error(null, "weights-do-not-fit", String.format(java.util.Locale.ROOT,
                    "weights need %s and activations %s per GPU, but only %s of %s is usable", Units.gib(weightBytes), Units.gib(act.value()),
                    Units.gib(usable), Units.gib(g.memoryBytes())), suggestionForMemory(in)));
        } else if (maxSeqs == 0) {
            problems.add(Problem.error(null, "kv-does-not-fit", "not even one sequence of " + in.context() + " tokens fits in the "
                    + Units.gib(budget) + " KV budget (needs " + Units.gib(kvPerSeq) + ")",
                    "shorten the context, use an FP8 KV cache, or add TP/PP/CP"));
        } else if (maxSeqs < in.batch()) {
            problems.add(Problem.warning(null, "batch-exceeds-kv", "only " + maxSeqs + " sequences of " + in.context()
                    + " tokens fit per replica, fewer than the batch of " + in.batch(), "the engine will queue or preempt the rest"));
        }

        // --- collectives ---
        List<PlanResult.Collective> coll = new ArrayList<>();
        collectives(in, layersPerStage, moeLayersPerStage, kvHeadsPerGpu, "decode", in.batch(), coll);
        collectives(in, layersPerStage, moeLayersPerStage, kvHeadsPerGpu, "prefill", in.promptTokens(), coll);

        // --- bounds: one replica's GPUs share the work; pipeline stages run one after another for one batch ---
        InferenceCost.Step dec = InferenceCost.decode(m, g, w, in.kv(), in.batch(), in.context());
        InferenceCost.Step pre = InferenceCost.prefill(m, g, w, in.kv(), 1, in.promptTokens());
        int shards = p.tp() * p.cp();
        double decodeComm = coll.stream().filter(c -> c.phase().equals("decode")).mapToDouble(PlanResult.Collective::seconds).sum();
        double prefillComm = coll.stream().filter(c -> c.phase().equals("prefill")).mapToDouble(PlanResult.Collective::seconds).sum();
        double decodeBound = dec.timeBound() / shards + decodeComm;
        double prefillBound = pre.timeBound() / shards + prefillComm;
        fs.add(new Formula("decode step lower bound", "single-GPU bound ÷ (tp × cp) + communication",
                num(dec.timeBound()) + " ÷ " + shards + " + " + num(decodeComm), decodeBound, "s"));
        fs.add(new Formula("prefill lower bound", "single-GPU bound ÷ (tp × cp) + communication",
                num(pre.timeBound()) + " ÷ " + shards + " + " + num(prefillComm), prefillBound, "s"));
        return new PlanResult(in, List.copyOf(problems), mem, kvPerToken, maxSeqs, List.copyOf(coll), decodeBound, prefillBound,
                EngineFlags.all(in), List.copyOf(fs));
    }

    private static String suggestionForMemory(PlanInput in) {
        ModelConfig m = in.model();
        if (m.isMoe() && in.parallel().ep() == 1) {
            return "spread the experts with EP, raise TP/PP, or use FP8/INT4 weights";
        }
        return "raise TP (or PP across nodes), or use FP8/INT4 weights";
    }

    private static double attentionLinearPerGpu(ModelConfig m, int tp, int kvHeadsPerGpu) {
        long h = m.hiddenSize();
        if (m.attention() == ModelConfig.Attention.MLA) {
            // q_a and kv_a (compression) are replicated; q_b, kv_b and o are split by heads
            double replicated = (m.qLoraRank() > 0 ? (double) h * m.qLoraRank() : 0) + (double) h * (m.kvLoraRank() + m.qkRopeHeadDim());
            return replicated + (m.attentionLinearParams() - replicated) / tp;
        }
        double q = (double) h * m.numHeads() * m.headDim() / tp;
        double o = q;
        double kv = 2.0 * h * kvHeadsPerGpu * m.headDim();
        return q + o + kv;
    }

    private static double attentionBiasPerGpu(ModelConfig m, int tp, int kvHeadsPerGpu) {
        return m.qkvBias() ? (double) m.numHeads() * m.headDim() / tp + 2.0 * kvHeadsPerGpu * m.headDim() : 0;
    }

    /** Routed + shared expert weights of one MoE layer on one GPU. */
    private static double expertLinearPerGpu(ModelConfig m, ParallelConfig p) {
        double shared = (double) m.sharedExperts() * m.expertParams() / p.tp();
        if (p.ep() <= 1) {
            return (double) m.numExperts() * m.expertParams() / p.tp() + shared;
        }
        double expertTp = (double) p.tp() * p.dp() / p.ep();
        return (double) m.numExperts() / p.ep() * m.expertParams() / Math.max(1, expertTp) + shared;
    }

    private record Link(String name, double bandwidth, double alpha) {
    }

    /** The link a group of GPUs spanning {@code span} consecutive ranks uses. */
    private static Link link(PlanInput in, int span) {
        GpuSpec g = in.gpu();
        if (span <= in.gpusPerNode()) {
            return g.linkBandwidth() > 0 ? new Link(g.linkName(), g.linkBandwidthPerDirection(), ALPHA_NVLINK)
                    : new Link(g.pcieName(), g.pcieBandwidthPerDirection(), ALPHA_PCIE);
        }
        return new Link("network (IB/RoCE)", in.interNodeBandwidth(), ALPHA_NETWORK);
    }

    private static void collectives(PlanInput in, int layers, int moeLayers, int kvHeadsPerGpu, String phase, long tokens,
            List<PlanResult.Collective> out) {
        ModelConfig m = in.model();
        ParallelConfig p = in.parallel();
        double msg = tokens * m.hiddenSize() * ACT_BYTES;
        if (p.tp() > 1) {
            Link l = link(in, p.tp());
            int n = p.tp();
            if (p.sp()) {
                double per = (double) (n - 1) / n * msg;
                out.add(coll(phase, "reduce-scatter", "TP (SP)", n, 2 * layers, msg, per, l, n - 1));
                out.add(coll(phase, "all-gather", "TP (SP)", n, 2 * layers, msg, per, l, n - 1));
            } else {
                out.add(coll(phase, "all-reduce", "TP", n, 2 * layers, msg, 2.0 * (n - 1) / n * msg, l, 2 * (n - 1)));
            }
        }
        if (p.pp() > 1) {
            Link l = link(in, p.tp() * p.cp() * p.dp() * 2);
            out.add(coll(phase, "point-to-point", "PP", 2, p.pp() - 1, msg, msg, l, 1));
        }
        if (p.ep() > 1 && m.isMoe()) {
            int n = p.ep();
            Link l = link(in, p.tp() * p.cp() * p.dp());
            double a2a = tokens * m.expertsPerToken() * m.hiddenSize() * ACT_BYTES;
            out.add(coll(phase, "all-to-all", "EP (dispatch + combine)", n, 2 * moeLayers, a2a, (double) (n - 1) / n * a2a, l, n - 1));
        }
        if (p.cp() > 1) {
            int n = p.cp();
            Link l = link(in, p.tp() * p.cp());
            if (phase.equals("prefill")) {
                double kvElems = m.attention() == ModelConfig.Attention.MLA ? m.kvElementsPerTokenPerLayer() : 2.0 * kvHeadsPerGpu * m.headDim();
                double chunk = (double) tokens / n * kvElems * in.kv().bytesPerValue();
                out.add(coll(phase, "point-to-point", "CP (ring attention KV)", n, layers, chunk, (n - 1) * chunk, l, n - 1));
            } else {
                double partial = tokens * (double) m.numHeads() / p.tp() * (m.headDim() + 2) * ACT_BYTES;
                out.add(coll(phase, "all-gather", "CP (partial attention)", n, layers, partial, (double) (n - 1) / n * partial, l, n - 1));
            }
        }
    }

    private static PlanResult.Collective coll(String phase, String type, String group, int n, int perStep, double msg, double perGpu, Link l,
            int steps) {
        double seconds = perStep * (steps * l.alpha() + perGpu / l.bandwidth());
        return new PlanResult.Collective(phase, type, group, n, perStep, msg, perGpu * perStep, l.name(), l.bandwidth(), seconds);
    }

    private static void validate(PlanInput in, List<Problem> out) {
        ModelConfig m = in.model();
        ParallelConfig p = in.parallel();
        GpuSpec g = in.gpu();
        SourceLocation at = null;
        int nodes = (p.worldSize() + in.gpusPerNode() - 1) / in.gpusPerNode();
        out.add(Problem.info(at, "world", p + " uses " + p.worldSize() + " GPUs (" + nodes + " node" + (nodes > 1 ? "s" : "") + " of "
                + in.gpusPerNode() + ")", null));
        if (m.numHeads() % p.tp() != 0) {
            out.add(Problem.error(at, "tp-heads", "TP " + p.tp() + " does not divide the " + m.numHeads() + " attention heads",
                    "use a TP size that divides " + m.numHeads() + ": " + divisors(m.numHeads(), 16)));
        } else if (m.attention() != ModelConfig.Attention.MLA) {
            int kvh = m.numKvHeads();
            if (p.tp() > kvh) {
                if (p.tp() % kvh == 0) {
                    out.add(Problem.warning(at, "tp-kv-replicated", "TP " + p.tp() + " exceeds the " + kvh + " KV heads: each KV head is replicated on "
                            + p.tp() / kvh + " GPUs, so KV memory per GPU stops shrinking beyond TP " + kvh,
                            "fine for weights and compute; for more KV capacity prefer DP or PP"));
                } else {
                    out.add(Problem.error(at, "tp-kv-heads", "TP " + p.tp() + " and the " + kvh + " KV heads do not divide each other",
                            "use a TP size that divides " + kvh + " or is a multiple of it"));
                }
            } else if (kvh % p.tp() != 0) {
                out.add(Problem.error(at, "tp-kv-heads", "TP " + p.tp() + " does not divide the " + kvh + " KV heads",
                        "use a TP size that divides " + kvh + ": " + divisors(kvh, 16)));
            }
        } else if (p.tp() > 1) {
            out.add(Problem.info(at, "mla-tp", "MLA's latent KV cache is replicated on every TP rank (it has no heads to split)",
                    "for more KV capacity use DP attention (--enable-dp-attention in SGLang) or PP"));
        }
        if (p.pp() > m.numLayers()) {
            out.add(Problem.error(at, "pp-layers", "PP " + p.pp() + " exceeds the " + m.numLayers() + " layers", "use PP <= " + m.numLayers()));
        } else if (m.numLayers() % p.pp() != 0) {
            int big = (m.numLayers() + p.pp() - 1) / p.pp();
            out.add(Problem.warning(at, "pp-unbalanced", "PP stages unbalanced: " + m.numLayers() + " layers over " + p.pp()
                    + " stages gives stages of " + big + " and " + (m.numLayers() / p.pp()) + " layers; the largest sets the pace",
                    "use a PP size that divides " + m.numLayers() + ": " + divisors(m.numLayers(), 16)));
        }
        if (p.ep() > 1) {
            if (!m.isMoe()) {
                out.add(Problem.error(at, "ep-dense", "EP " + p.ep() + " set, but " + m.name() + " has no experts", "set EP to 1"));
            } else {
                if (m.numExperts() % p.ep() != 0) {
                    out.add(Problem.error(at, "ep-experts", "EP " + p.ep() + " does not divide the " + m.numExperts() + " experts",
                            "use an EP size that divides " + m.numExperts() + ": " + divisors(m.numExperts(), 64)));
                }
                if ((p.tp() * p.dp()) % p.ep() != 0) {
                    out.add(Problem.error(at, "ep-group", "EP " + p.ep() + " must divide TP × DP = " + p.tp() * p.dp()
                            + " (experts are spread over the GPUs of one pipeline stage)", "raise DP or TP, or lower EP"));
                }
            }
        } else if (m.isMoe() && p.tp() > 1) {
            out.add(Problem.info(at, "moe-tp", "EP is 1: every expert is split over the " + p.tp() + " TP GPUs", "EP > 1 keeps experts whole and uses all-to-all instead"));
        }
        if (p.tp() > in.gpusPerNode()) {
            out.add(Problem.warning(at, "tp-cross-node", "the TP group of " + p.tp() + " spans nodes: its all-reduces (2 per layer) cross the network",
                    "keep TP within a node (<= " + in.gpusPerNode() + ") and use PP across nodes"));
        }
        if (p.sp() && p.tp() == 1) {
            out.add(Problem.warning(at, "sp-no-tp", "SP has no effect without TP", "set TP > 1 or turn SP off"));
        }
        if (p.cp() > 1 && in.context() % p.cp() != 0) {
            out.add(Problem.warning(at, "cp-context", "CP " + p.cp() + " does not divide the context " + in.context(), "ranks get unequal chunks"));
        }
        if (in.context() > m.maxPositions()) {
            out.add(Problem.warning(at, "context-too-long", "context " + in.context() + " exceeds the model's max_position_embeddings "
                    + m.maxPositions(), "quality past the trained length is not guaranteed"));
        }
        Precision w = in.weights();
        if (w.computeKey().equals("fp8") && g.peak("fp8") == 0) {
            out.add(Problem.warning(at, "fp8-not-native", g.name() + " has no FP8 tensor cores: FP8 weights save memory but run at BF16/FP16 speed",
                    null));
        }
        if (w == Precision.NVFP4 && g.peak("fp4") == 0) {
            out.add(Problem.info(at, "nvfp4-emulated", "NVFP4 is emulated on " + g.name() + " (no FP4 tensor cores): memory savings only", null));
        }
    }

    static String divisors(int n, int max) {
        List<String> d = new ArrayList<>();
        for (int i = 1; i <= Math.min(n, max); i++) {
            if (n % i == 0) {
                d.add(Integer.toString(i));
            }
        }
        return String.join(", ", d);
    }
}
