package org.llmwb.core.layout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.yaml.YNode;

/**
 * Reads and writes {@code .llmwb-layout} files. The format is YAML meant to be diffed:
 *
 * <pre>
 * apiVersion: llmwb/v1
 * kind: layout
 * name: Llama-3-70B FP16, TP4×DP2 on one 8×H100 node
 * model: llama-3-70b          # a catalog preset or a config.json path
 * weights: fp16
 * kv: fp16                    # optional; default follows the weights
 * context: 8192               # max model length
 * batch: 64                   # concurrent sequences per replica
 * promptTokens: 4096
 * utilization: 0.9
 * mode: aggregated            # or disaggregated
 * network: {name: InfiniBand NDR 400G, gbs: 50}   # per GPU, one direction
 * nodes:
 *   - {name: node0, gpu: h100-sxm, gpus: 8, fabric: nvswitch}
 * pools:
 *   - {name: serve, role: aggregated, tp: 4, gpus: [node0/0-7]}
 * </pre>
 *
 * GPU lists take single GPUs ({@code node0/3}) and ranges ({@code node0/0-7}); list order is rank
 * order. Every error names the file, line and column.
 */
public final class LayoutYaml {
    private static final Set<String> TOP = Set.of("apiVersion", "kind", "name", "description", "model", "weights", "kv", "context", "batch",
            "promptTokens", "utilization", "mode", "network", "nodes", "pools");
    private static final Set<String> NODE = Set.of("name", "gpu", "gpus", "fabric");
    private static final Set<String> POOL = Set.of("name", "role", "tp", "pp", "ep", "cp", "sp", "gpus");

    private LayoutYaml() {
    }

    public static Layout parse(String text, String source) {
        return read(YNode.parse(text, source));
    }

    public static Layout read(YNode root) {
        List<Problem> problems = new ArrayList<>();
        Layout l = new Layout();
        root.entries(); // not a mapping: one located error
        unknownKeys(root, TOP, "layout", problems);
        YNode kind = root.get("kind");
        if (kind == null || !kind.text().equals("layout")) {
            problems.add(Problem.error(kind == null ? root.location() : kind.location(), "layout-kind",
                    "a layout file needs 'kind: layout'", "add the line kind: layout"));
        }
        guard(problems, () -> {
            str(root, "name", v -> l.setSetting("name", v));
            str(root, "description", v -> l.setSetting("description", v));
            str(root, "model", v -> l.setSetting("model", v));
            str(root, "weights", v -> l.setSetting("weights", v));
            str(root, "kv", v -> l.setSetting("kv", v));
        });
        for (String k : List.of("context", "batch", "promptTokens")) {
            guard(problems, () -> {
                if (root.has(k)) {
                    long v = root.get(k).asLong();
                    if (v <= 0) {
                        throw new InputException(root.get(k).location(), k + " must be positive, got " + v);
                    }
                    l.setSetting(k, v);
                }
            });
        }
        guard(problems, () -> {
            if (root.has("utilization")) {
                double u = root.get("utilization").asDouble();
                if (u <= 0 || u > 1) {
                    throw new InputException(root.get("utilization").location(), "utilization must be in (0, 1], got " + u);
                }
                l.setSetting("utilization", u);
            }
            if (root.has("mode")) {
                l.setSetting("mode", enumOf(Layout.Mode.class, root.get("mode")));
            }
            if (root.has("network")) {
                YNode n = root.get("network");
                unknownKeys(n, Set.of("name", "gbs"), "network", problems);
                str(n, "name", v -> l.setSetting("network.name", v));
                if (n.has("gbs")) {
                    double g = n.get("gbs").asDouble();
                    if (g <= 0) {
                        throw new InputException(n.get("gbs").location(), "network bandwidth must be positive");
                    }
                    l.setSetting("network.gbs", g);
                }
            }
        });
        if (root.has("nodes")) {
            for (YNode n : listOf(root.get("nodes"), problems)) {
                guard(problems, () -> readNode(n, l, problems));
            }
        }
        if (root.has("pools")) {
            for (YNode p : listOf(root.get("pools"), problems)) {
                guard(problems, () -> readPool(p, l, problems));
            }
        }
        if (problems.stream().anyMatch(Problem::isError)) {
            throw new InputException(problems);
        }
        return l;
    }

    private static void readNode(YNode n, Layout l, List<Problem> problems) {
        unknownKeys(n, NODE, "node", problems);
        String name = n.has("name") ? n.get("name").text() : l.nextNodeName();
        if (!name.matches("[A-Za-z0-9_.-]+")) {
            throw new InputException(n.get("name").location(), "node name '" + name + "' may only use letters, digits, '_', '.' and '-'");
        }
        if (l.nodeNamed(name) != null) {
            throw new InputException(n.get("name").location(), "a second node is named '" + name + "'");
        }
        if (!n.has("gpu")) {
            throw new InputException(n.location(), "node '" + name + "' needs 'gpu:' (a GPU catalog id such as h100-sxm)");
        }
        int count = n.has("gpus") ? n.get("gpus").asInt() : 8;
        if (count < 1 || count > 64) {
            throw new InputException(n.get("gpus").location(), "a node holds 1 to 64 GPUs, got " + count);
        }
        Layout.Fabric f = n.has("fabric") ? enumOf(Layout.Fabric.class, n.get("fabric")) : Layout.Fabric.NVSWITCH;
        Layout.Node node = l.insertNode(l.nodes().size(), new Layout.Node(name, n.get("gpu").text(), f), count);
        node.line = n.location().line();
    }

    private static void readPool(YNode p, Layout l, List<Problem> problems) {
        unknownKeys(p, POOL, "pool", problems);
        String name = p.has("name") ? p.get("name").text() : "pool" + l.pools().size();
        if (l.poolNamed(name) != null) {
            throw new InputException(p.get("name").location(), "a second pool is named '" + name + "'");
        }
        Layout.Role role = p.has("role") ? enumOf(Layout.Role.class, p.get("role")) : Layout.Role.AGGREGATED;
        Layout.Pool pool = new Layout.Pool(name, role);
        pool.line = p.location().line();
        for (String k : List.of("tp", "pp", "ep", "cp")) {
            if (p.has(k)) {
                int v = p.get(k).asInt();
                if (v < 1) {
                    throw new InputException(p.get(k).location(), k + " must be at least 1, got " + v);
                }
                l.setPoolProperty(pool, k, v);
            }
        }
        if (p.has("sp")) {
            l.setPoolProperty(pool, "sp", p.get("sp").asBoolean());
        }
        List<Layout.Gpu> gpus = new ArrayList<>();
        if (p.has("gpus")) {
            for (YNode ref : p.get("gpus").items()) {
                gpus.addAll(gpuRefs(ref, l));
            }
        }
        for (Layout.Gpu g : gpus) {
            Layout.Pool other = l.poolOf(g);
            if (other != null || pool.gpus().contains(g)) {
                throw new InputException(p.get("gpus").location(), "GPU " + g + " is already in pool '" + (other != null ? other.name() : name) + "'");
            }
            pool.gpus.add(g); // the pool is not in the layout yet
        }
        l.insertPool(l.pools().size(), pool);
    }

    static List<Layout.Gpu> gpuRefs(YNode ref, Layout l) {
        String t = ref.text().trim();
        int slash = t.lastIndexOf('/');
        if (slash <= 0) {
            throw new InputException(ref.location(), "GPU reference '" + t + "' should be node/index or node/first-last, e.g. node0/3 or node0/0-7");
        }
        Layout.Node node = l.nodeNamed(t.substring(0, slash));
        if (node == null) {
            throw new InputException(ref.location(), "no node named '" + t.substring(0, slash) + "' (nodes: "
                    + String.join(", ", l.nodes().stream().map(Layout.Node::name).toList()) + ")");
        }
        String idx = t.substring(slash + 1);
        int a;
        int b;
        try {
            int dash = idx.indexOf('-');
            a = Integer.parseInt(dash < 0 ? idx : idx.substring(0, dash));
            b = dash < 0 ? a : Integer.parseInt(idx.substring(dash + 1));
        } catch (NumberFormatException e) {
            throw new InputException(ref.location(), "GPU reference '" + t + "': '" + idx + "' is not an index or a range like 0-7");
        }
        if (b < a) {
            throw new InputException(ref.location(), "GPU range '" + t + "' runs backwards");
        }
        List<Layout.Gpu> out = new ArrayList<>();
        for (int i = a; i <= b; i++) {
            Layout.Gpu g = l.gpu(node.name() + "/" + i);
            if (g == null) {
                throw new InputException(ref.location(), "node '" + node.name() + "' has no GPU " + i + " (it has " + node.gpus().size() + ")");
            }
            out.add(g);
        }
        return out;
    }

    /** Writes a layout back as YAML; {@code parse(write(l))} gives the same layout. */
    public static String write(Layout l) {
        StringBuilder s = new StringBuilder();
        s.append("apiVersion: llmwb/v1\nkind: layout\n");
        s.append("name: ").append(quote(l.name())).append('\n');
        if (!l.description().isEmpty()) {
            s.append("description: ").append(quote(l.description())).append('\n');
        }
        s.append("model: ").append(quote(l.model())).append('\n');
        s.append("weights: ").append(l.weights()).append('\n');
        if (!l.kv().isEmpty()) {
            s.append("kv: ").append(l.kv()).append('\n');
        }
        s.append("context: ").append(l.context()).append('\n');
        s.append("batch: ").append(l.batch()).append('\n');
        s.append("promptTokens: ").append(l.promptTokens()).append('\n');
        s.append("utilization: ").append(num(l.utilization())).append('\n');
        s.append("mode: ").append(l.mode().name().toLowerCase(Locale.ROOT)).append('\n');
        s.append("network: {name: ").append(quote(l.networkName())).append(", gbs: ").append(num(l.networkGbs())).append("}\n");
        s.append("nodes:\n");
        for (Layout.Node n : l.nodes()) {
            s.append("  - {name: ").append(n.name()).append(", gpu: ").append(n.gpuType()).append(", gpus: ").append(n.gpus().size())
                    .append(", fabric: ").append(n.fabric().name().toLowerCase(Locale.ROOT)).append("}\n");
        }
        s.append("pools:\n");
        for (Layout.Pool p : l.pools()) {
            s.append("  - name: ").append(quote(p.name())).append('\n');
            s.append("    role: ").append(p.role().name().toLowerCase(Locale.ROOT)).append('\n');
            s.append("    tp: ").append(p.tp()).append('\n');
            if (p.pp() > 1) {
                s.append("    pp: ").append(p.pp()).append('\n');
            }
            if (p.ep() > 1) {
                s.append("    ep: ").append(p.ep()).append('\n');
            }
            if (p.cp() > 1) {
                s.append("    cp: ").append(p.cp()).append('\n');
            }
            if (p.sp()) {
                s.append("    sp: true\n");
            }
            s.append("    gpus: [").append(String.join(", ", ranges(p.gpus()))).append("]\n");
        }
        return s.toString();
    }

    /** Consecutive GPUs of one node collapse to {@code node/a-b}. */
    static List<String> ranges(List<Layout.Gpu> gpus) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < gpus.size()) {
            Layout.Gpu first = gpus.get(i);
            int j = i;
            while (j + 1 < gpus.size() && gpus.get(j + 1).node() == first.node() && gpus.get(j + 1).index() == gpus.get(j).index() + 1) {
                j++;
            }
            out.add(j == i ? first.id() : first.id() + "-" + gpus.get(j).index());
            i = j + 1;
        }
        return out;
    }

    private static String num(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static String quote(String s) {
        if (s.matches("[A-Za-z0-9_./()×+ -]*") && !s.isEmpty() && !s.startsWith(" ") && !s.endsWith(" ") && !s.startsWith("-")) {
            return s;
        }
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    private interface Step {
        void run();
    }

    private static void guard(List<Problem> problems, Step s) {
        try {
            s.run();
        } catch (InputException e) {
            problems.addAll(e.problems());
        } catch (IllegalArgumentException e) {
            problems.add(Problem.error(null, "layout", e.getMessage(), null));
        }
    }

    private static void str(YNode n, String key, java.util.function.Consumer<String> set) {
        if (n.has(key)) {
            set.accept(n.get(key).text());
        }
    }

    private static List<YNode> listOf(YNode n, List<Problem> problems) {
        try {
            return n.items();
        } catch (InputException e) {
            problems.addAll(e.problems());
            return List.of();
        }
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, YNode n) {
        String t = n.text().trim();
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(t)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        throw new InputException(n.location(), "'" + t + "' is not one of " + String.join(", ", names));
    }

    private static void unknownKeys(YNode n, Set<String> known, String what, List<Problem> problems) {
        if (!n.isMap()) {
            problems.add(Problem.error(n.location(), "layout", "the " + what + " should be a mapping (key: value) but is " + n.kindName(), null));
            return;
        }
        n.entries().forEach((k, v) -> {
            if (!known.contains(k)) {
                problems.add(Problem.error(v.location(), "unknown-key", "unknown " + what + " key '" + k + "'",
                        "known keys: " + String.join(", ", known.stream().sorted().toList())));
            }
        });
    }
}
