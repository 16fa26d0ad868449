package org.llmwb.core.layout;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.plan.EngineFlags;
import org.llmwb.core.plan.ParallelConfig;
import org.llmwb.core.plan.PlanInput;

/**
 * Engine command lines and a Dynamo-style deployment file for a layout. Aggregated pools get one
 * command per engine (DP as the engine's own flag); in a disaggregated layout each pool's worker is
 * launched once per replica with its role flag (vLLM's KV connector, SGLang's
 * {@code --disaggregation-mode}, TensorRT-LLM's context/generation servers). Only pools that the
 * planner could plan are exported; problems stay in the analysis.
 */
public final class LayoutExport {
    private LayoutExport() {
    }

    /** Title → text: vLLM, SGLang, TensorRT-LLM and Dynamo. */
    public static Map<String, String> all(Layout l, LayoutAnalysis.Report r) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("vLLM", engine(l, r, "vllm"));
        m.put("SGLang", engine(l, r, "sglang"));
        m.put("TensorRT-LLM", engine(l, r, "trtllm"));
        m.put("Dynamo", dynamo(l, r));
        m.put("llmwb bench", bench(l, r));
        return m;
    }

    /**
     * The {@code llmwb bench} line that measures this layout once it serves, so planned and measured can be put side
     * by side: the serving pool's prompt length and planned sequences, throughput per GPU over every GPU of the layout.
     */
    static String bench(Layout l, LayoutAnalysis.Report r) {
        LayoutAnalysis.PoolReport serving = null;
        int gpus = 0;
        for (LayoutAnalysis.PoolReport p : r.pools()) {
            gpus += p.pool().gpus().size();
            if (p.plan() != null && p.pool().role() != Layout.Role.PREFILL && serving == null) {
                serving = p;
            }
        }
        if (serving == null) {
            return "# no aggregated or decode pool could be planned: nothing to measure yet (see Problems)\n";
        }
        return "# measure " + l.name() + " once it serves (vLLM, TensorRT-LLM and Dynamo's frontend listen on 8000, SGLang on 30000"
                + (l.mode() == Layout.Mode.DISAGGREGATED ? "; a disaggregated layout behind its router or frontend" : "") + "), then llmwb compare it with a simulation\n"
                + EngineFlags.bench(serving.plan().input(), gpus, "http://HOST:8000/v1") + "\n";
    }

    static String engine(Layout l, LayoutAnalysis.Report r, String engine) {
        StringBuilder s = new StringBuilder();
        boolean disagg = l.mode() == Layout.Mode.DISAGGREGATED;
        s.append("# ").append(l.name()).append(" — ").append(engineName(engine)).append(disagg ? ", disaggregated" : "").append('\n');
        for (LayoutAnalysis.PoolReport p : r.pools()) {
            if (p.plan() == null) {
                s.append("# pool '").append(p.pool().name()).append("': not exported (see Problems)\n");
                continue;
            }
            PlanInput in = disagg ? perWorker(p.plan().input()) : p.plan().input();
            int workers = disagg && p.pool().ep() <= 1 ? p.parallel().dp() : 1;
            s.append("# pool '").append(p.pool().name()).append("' (").append(role(p.pool())).append(", ").append(p.parallel()).append(", ")
                    .append(p.pool().gpus().size()).append(" GPUs: ").append(String.join(" ", LayoutYaml.ranges(p.pool().gpus()))).append(")");
            if (workers > 1) {
                s.append(": run ").append(workers).append(" workers of ").append(in.parallel().worldSize()).append(" GPUs each");
            }
            s.append('\n');
            String cmd = switch (engine) {
                case "vllm" -> EngineFlags.vllm(in);
                case "sglang" -> EngineFlags.sglang(in);
                default -> EngineFlags.trtllm(in);
            };
            s.append(withRole(cmd, engine, p.pool().role())).append("\n");
        }
        if (disagg) {
            s.append(switch (engine) {
                case "vllm" -> "# route requests prefill→decode with a P/D proxy (vLLM's disaggregated proxy example, or Dynamo's frontend)\n";
                case "sglang" -> "python -m sglang_router.launch_router --pd-disaggregation" + urls(r, Layout.Role.PREFILL, " --prefill http://PREFILL_%d:30000")
                        + urls(r, Layout.Role.DECODE, " --decode http://DECODE_%d:30000") + "\n";
                default -> trtllmDisagg(l, r);
            });
        }
        return s.toString();
    }

    private static String urls(LayoutAnalysis.Report r, Layout.Role role, String one) {
        StringBuilder s = new StringBuilder();
        int n = 0;
        for (LayoutAnalysis.PoolReport p : r.pools()) {
            if (p.pool().role() == role && p.plan() != null) {
                for (int i = 0; i < Math.max(1, p.parallel().dp()); i++) {
                    s.append(String.format(Locale.ROOT, one, n++));
                }
            }
        }
        return s.toString();
    }

    /** Role flags appended before any trailing "# note". */
    private static String withRole(String cmd, String engine, Layout.Role role) {
        if (role == Layout.Role.AGGREGATED) {
            return cmd;
        }
        String flag = switch (engine) {
            case "vllm" -> "--kv-transfer-config '{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_both\"}'";
            case "sglang" -> "--disaggregation-mode " + (role == Layout.Role.PREFILL ? "prefill" : "decode") + " --disaggregation-transfer-backend nixl";
            default -> "# " + (role == Layout.Role.PREFILL ? "context" : "generation") + " server of the disaggregated config below";
        };
        int hash = cmd.indexOf("  # ");
        if (engine.equals("trtllm")) {
            return cmd + (hash >= 0 ? "; " + flag.substring(2) : "  " + flag);
        }
        return hash < 0 ? cmd + " " + flag : cmd.substring(0, hash) + " " + flag + cmd.substring(hash);
    }

    private static String trtllmDisagg(Layout l, LayoutAnalysis.Report r) {
        StringBuilder s = new StringBuilder("# disagg.yaml, then: trtllm-serve disaggregated -c disagg.yaml\n");
        s.append("# model: ").append(r.model() == null ? l.model() : modelArg(r)).append('\n');
        for (Layout.Role role : new Layout.Role[] {Layout.Role.PREFILL, Layout.Role.DECODE}) {
            for (LayoutAnalysis.PoolReport p : r.pools()) {
                if (p.pool().role() != role || p.plan() == null) {
                    continue;
                }
                s.append("# ").append(role == Layout.Role.PREFILL ? "context_servers" : "generation_servers").append(": {num_instances: ")
                        .append(p.parallel().dp()).append(", tensor_parallel_size: ").append(p.pool().tp()).append(", pipeline_parallel_size: ")
                        .append(p.pool().pp()).append("}\n");
            }
        }
        return s.toString();
    }

    /** One disaggregated worker: DP becomes the worker count, except where EP needs DP attention. */
    static PlanInput perWorker(PlanInput in) {
        ParallelConfig p = in.parallel();
        if (p.ep() > 1 || p.dp() == 1) {
            return in;
        }
        return new PlanInput(in.model(), in.gpu(), in.weights(), in.kv(), new ParallelConfig(p.tp(), p.pp(), 1, 1, p.cp(), p.sp()), in.context(),
                in.batch(), in.promptTokens(), in.gpusPerNode(), in.interNodeBandwidth(), in.utilization(), in.maxBatchTokens());
    }

    /**
     * A deployment in the shape of NVIDIA Dynamo's {@code DynamoGraphDeployment} (nvidia.com/v1alpha1)
     * with the vLLM backend: a frontend and one worker service per pool, with replicas, GPUs per
     * replica and the worker's arguments. Check the flags against the Dynamo release you deploy.
     */
    public static String dynamo(Layout l, LayoutAnalysis.Report r) {
        String name = l.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-+|-+$)", "");
        if (name.isEmpty()) {
            name = "llmwb-layout";
        }
        name = name.length() > 50 ? name.substring(0, 50).replaceAll("-+$", "") : name;
        StringBuilder s = new StringBuilder();
        s.append("# generated by llmwb from the layout '").append(l.name()).append("'\n");
        s.append("apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: ").append(name).append('\n');
        s.append("spec:\n  services:\n    Frontend:\n      componentType: frontend\n      replicas: 1\n");
        for (LayoutAnalysis.PoolReport p : r.pools()) {
            if (p.plan() == null) {
                s.append("    # pool '").append(p.pool().name()).append("' left out: it has errors\n");
                continue;
            }
            PlanInput in = l.mode() == Layout.Mode.DISAGGREGATED ? perWorker(p.plan().input()) : p.plan().input();
            ParallelConfig pc = in.parallel();
            boolean epReplicas = pc.ep() > 1;
            int replicas = epReplicas || l.mode() == Layout.Mode.AGGREGATED ? 1 : p.parallel().dp();
            int gpusPerReplica = epReplicas || l.mode() == Layout.Mode.AGGREGATED ? p.parallel().worldSize() : pc.worldSize();
            s.append("    ").append(serviceName(p.pool())).append(":\n");
            s.append("      componentType: worker\n");
            if (p.pool().role() != Layout.Role.AGGREGATED) {
                s.append("      subComponentType: ").append(p.pool().role() == Layout.Role.PREFILL ? "prefill" : "decode").append('\n');
            }
            s.append("      replicas: ").append(replicas).append('\n');
            s.append("      resources:\n        limits:\n          gpu: \"").append(gpusPerReplica).append("\"\n");
            if (gpusPerReplica > 8) {
                s.append("      multinode:\n        nodeCount: ").append((gpusPerReplica + 7) / 8).append('\n');
            }
            s.append("      extraPodSpec:\n        mainContainer:\n          command: [python3, -m, dynamo.vllm]\n          args:\n");
            s.append("            - --model\n            - ").append(modelArg(r)).append('\n');
            s.append("            - --tensor-parallel-size\n            - \"").append(pc.tp()).append("\"\n");
            if (pc.pp() > 1) {
                s.append("            - --pipeline-parallel-size\n            - \"").append(pc.pp()).append("\"\n");
            }
            if (pc.dp() > 1) {
                s.append("            - --data-parallel-size\n            - \"").append(pc.dp()).append("\"\n");
            }
            if (pc.ep() > 1) {
                s.append("            - --enable-expert-parallel\n");
            }
            s.append("            - --max-model-len\n            - \"").append(in.context()).append("\"\n");
            if (p.pool().role() == Layout.Role.PREFILL) {
                s.append("            - --is-prefill-worker\n");
            }
        }
        return s.toString();
    }

    private static String modelArg(LayoutAnalysis.Report r) {
        return r.model() == null ? "MODEL" : r.model().hfId() != null ? r.model().hfId() : r.model().name();
    }

    private static String serviceName(Layout.Pool p) {
        String base = switch (p.role()) {
            case PREFILL -> "VllmPrefillWorker";
            case DECODE -> "VllmDecodeWorker";
            default -> "VllmWorker";
        };
        String suffix = p.name().replaceAll("[^A-Za-z0-9]", "");
        return suffix.equalsIgnoreCase("prefill") || suffix.equalsIgnoreCase("decode") || suffix.equalsIgnoreCase("serve") || suffix.isEmpty()
                ? base : base + Character.toUpperCase(suffix.charAt(0)) + suffix.substring(1);
    }

    private static String role(Layout.Pool p) {
        return p.role().name().toLowerCase(Locale.ROOT);
    }

    private static String engineName(String e) {
        return switch (e) {
            case "vllm" -> "vLLM";
            case "sglang" -> "SGLang";
            default -> "TensorRT-LLM";
        };
    }
}
