package org.llmwb.core.layout;

import java.beans.PropertyChangeListener;
import java.beans.PropertyChangeSupport;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A parallelism layout: a cluster (nodes of GPUs, their fabric and the network between nodes) and a
 * deployment plan (model, precisions, and pools of GPUs, each with its own parallelism). This is the
 * document the graphical editor edits and a {@code .llmwb-layout} file stores; {@link LayoutAnalysis}
 * turns it into memory, communication and validation figures through the core planner.
 *
 * <p>Mutable, as GEF's model objects are: every change goes through a method here and fires one
 * {@link #CHANGED} event on the root, so editors refresh from the model and never the other way
 * round. GPUs are identified by node and index; a GPU belongs to at most one pool, and its position
 * in the pool's list is its rank (TP innermost, then CP, DP and PP, as in Megatron).
 */
public final class Layout {
    /** The one property every change fires. */
    public static final String CHANGED = "Layout.changed";

    public enum Mode { AGGREGATED, DISAGGREGATED }

    public enum Role { AGGREGATED, PREFILL, DECODE }

    /** How the GPUs inside a node talk: NVSwitch (all pairs at the GPU's NVLink bandwidth) or PCIe only. */
    public enum Fabric { NVSWITCH, PCIE }

    private final PropertyChangeSupport events = new PropertyChangeSupport(this);
    private String name = "untitled";
    private String description = "";
    private String model = "llama-3.1-8b";
    private String weights = "bf16";
    private String kv = "";
    private long context = 8192;
    private long batch = 32;
    private long promptTokens = 4096;
    private double utilization = 0.9;
    private Mode mode = Mode.AGGREGATED;
    private String networkName = "InfiniBand NDR 400G";
    private double networkGbs = 50; // per GPU, one direction, 10^9 B/s
    private final List<Node> nodes = new ArrayList<>();
    private final List<Pool> pools = new ArrayList<>();

    /** A machine: GPUs of one catalog type on one fabric. */
    public static final class Node {
        private String name;
        private String gpuType;
        private Fabric fabric;
        private final List<Gpu> gpus = new ArrayList<>();
        int line; // where it was read from, 0 when made in the editor

        Node(String name, String gpuType, Fabric fabric) {
            this.name = name;
            this.gpuType = gpuType;
            this.fabric = fabric;
        }

        public String name() {
            return name;
        }

        public String gpuType() {
            return gpuType;
        }

        public Fabric fabric() {
            return fabric;
        }

        public List<Gpu> gpus() {
            return Collections.unmodifiableList(gpus);
        }

        public int line() {
            return line;
        }
    }

    /** One GPU, named {@code node/index}. */
    public static final class Gpu {
        private final Node node;
        private final int index;

        Gpu(Node node, int index) {
            this.node = node;
            this.index = index;
        }

        public Node node() {
            return node;
        }

        public int index() {
            return index;
        }

        public String id() {
            return node.name + "/" + index;
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /** A group of GPUs serving one role with one parallelism; replicas (DP) = GPUs ÷ (tp × pp × cp). */
    public static final class Pool {
        private String name;
        private Role role;
        private int tp = 1;
        private int pp = 1;
        private int ep = 1;
        private int cp = 1;
        private boolean sp;
        final List<Gpu> gpus = new ArrayList<>(); // rank order
        int line;

        Pool(String name, Role role) {
            this.name = name;
            this.role = role;
        }

        public String name() {
            return name;
        }

        public Role role() {
            return role;
        }

        public int tp() {
            return tp;
        }

        public int pp() {
            return pp;
        }

        public int ep() {
            return ep;
        }

        public int cp() {
            return cp;
        }

        public boolean sp() {
            return sp;
        }

        public List<Gpu> gpus() {
            return Collections.unmodifiableList(gpus);
        }

        public int line() {
            return line;
        }

        /** GPUs of one replica. */
        public int replicaSize() {
            return tp * pp * cp;
        }

        /** Whole replicas (DP size); a remainder is reported by the analysis. */
        public int replicas() {
            return gpus.size() / replicaSize();
        }
    }

    // ---- events ----

    public void addListener(PropertyChangeListener l) {
        events.addPropertyChangeListener(l);
    }

    public void removeListener(PropertyChangeListener l) {
        events.removePropertyChangeListener(l);
    }

    private void changed(String what) {
        events.firePropertyChange(CHANGED, null, what);
    }

    // ---- deployment settings ----

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    public String model() {
        return model;
    }

    public String weights() {
        return weights;
    }

    /** KV precision id; empty means "as the weights' default". */
    public String kv() {
        return kv;
    }

    public long context() {
        return context;
    }

    public long batch() {
        return batch;
    }

    public long promptTokens() {
        return promptTokens;
    }

    public double utilization() {
        return utilization;
    }

    public Mode mode() {
        return mode;
    }

    public String networkName() {
        return networkName;
    }

    public double networkGbs() {
        return networkGbs;
    }

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public List<Pool> pools() {
        return Collections.unmodifiableList(pools);
    }

    /** Sets one deployment setting by its YAML key; returns the previous value (for undo). */
    public Object setSetting(String key, Object value) {
        Object old = setting(key);
        switch (key) {
            case "name" -> name = (String) value;
            case "description" -> description = (String) value;
            case "model" -> model = (String) value;
            case "weights" -> weights = (String) value;
            case "kv" -> kv = (String) value;
            case "context" -> context = (Long) value;
            case "batch" -> batch = (Long) value;
            case "promptTokens" -> promptTokens = (Long) value;
            case "utilization" -> utilization = (Double) value;
            case "mode" -> mode = (Mode) value;
            case "network.name" -> networkName = (String) value;
            case "network.gbs" -> networkGbs = (Double) value;
            default -> throw new IllegalArgumentException("no layout setting '" + key + "'");
        }
        changed(key);
        return old;
    }

    public Object setting(String key) {
        return switch (key) {
            case "name" -> name;
            case "description" -> description;
            case "model" -> model;
            case "weights" -> weights;
            case "kv" -> kv;
            case "context" -> context;
            case "batch" -> batch;
            case "promptTokens" -> promptTokens;
            case "utilization" -> utilization;
            case "mode" -> mode;
            case "network.name" -> networkName;
            case "network.gbs" -> networkGbs;
            default -> throw new IllegalArgumentException("no layout setting '" + key + "'");
        };
    }

    // ---- cluster edits ----

    /** Adds a node with {@code count} GPUs at the end (or at {@code at}); returns it. */
    public Node addNode(String nodeName, String gpuType, Fabric fabric, int count) {
        return insertNode(nodes.size(), new Node(uniqueNodeName(nodeName), gpuType, fabric), count);
    }

    Node insertNode(int at, Node n, int count) {
        for (int i = n.gpus.size(); i < count; i++) {
            n.gpus.add(new Gpu(n, i));
        }
        nodes.add(at, n);
        changed("nodes");
        return n;
    }

    /** Removes a node and its GPUs from every pool; {@link #restoreNode} undoes it. */
    public NodeRemoval removeNode(Node n) {
        int at = nodes.indexOf(n);
        List<PoolSlot> slots = new ArrayList<>();
        for (Gpu g : n.gpus) {
            PoolSlot s = slotOf(g);
            if (s != null) {
                slots.add(s);
            }
        }
        for (PoolSlot s : slots.reversed()) {
            s.pool.gpus.remove(s.index);
        }
        nodes.remove(n);
        changed("nodes");
        return new NodeRemoval(n, at, slots);
    }

    public void restoreNode(NodeRemoval r) {
        nodes.add(r.at, r.node);
        for (PoolSlot s : r.slots) {
            s.pool.gpus.add(s.index, s.gpu);
        }
        changed("nodes");
    }

    /** What {@link #removeNode} took away. */
    public record NodeRemoval(Node node, int at, List<PoolSlot> slots) {
    }

    /** Adds one GPU at the end of a node; returns it. */
    public Gpu addGpu(Node n) {
        Gpu g = new Gpu(n, n.gpus.isEmpty() ? 0 : n.gpus.getLast().index + 1);
        n.gpus.add(g);
        changed("gpus");
        return g;
    }

    /** Removes the last-added GPU of a node (only if no pool holds it). */
    public void removeGpu(Gpu g) {
        if (poolOf(g) != null) {
            throw new IllegalStateException(g + " is still in pool " + poolOf(g).name);
        }
        g.node.gpus.remove(g);
        changed("gpus");
    }

    public void restoreGpu(Gpu g, int at) {
        g.node.gpus.add(at, g);
        changed("gpus");
    }

    public Gpu gpu(String id) {
        for (Node n : nodes) {
            for (Gpu g : n.gpus) {
                if (g.id().equals(id)) {
                    return g;
                }
            }
        }
        return null;
    }

    public List<Gpu> allGpus() {
        List<Gpu> all = new ArrayList<>();
        nodes.forEach(n -> all.addAll(n.gpus));
        return all;
    }

    public List<Gpu> unassigned() {
        return allGpus().stream().filter(g -> poolOf(g) == null).toList();
    }

    // ---- deployment edits ----

    public Pool addPool(String poolName, Role role) {
        Pool p = new Pool(uniquePoolName(poolName), role);
        insertPool(pools.size(), p);
        return p;
    }

    /** Inserts a pool (with whatever GPUs it holds, taking them from other pools). */
    public void insertPool(int at, Pool p) {
        for (Gpu g : p.gpus) {
            Pool other = poolOf(g);
            if (other != null) {
                other.gpus.remove(g);
            }
        }
        pools.add(at, p);
        changed("pools");
    }

    /** Removes a pool; its GPUs become unassigned. Returns its index for undo. */
    public int removePool(Pool p) {
        int at = pools.indexOf(p);
        pools.remove(p);
        changed("pools");
        return at;
    }

    /** Sets a pool property ("name", "role", "tp", "pp", "ep", "cp", "sp"); returns the old value. */
    public Object setPoolProperty(Pool p, String key, Object value) {
        Object old = poolProperty(p, key);
        switch (key) {
            case "name" -> p.name = (String) value;
            case "role" -> p.role = (Role) value;
            case "tp" -> p.tp = positive(key, (Integer) value);
            case "pp" -> p.pp = positive(key, (Integer) value);
            case "ep" -> p.ep = positive(key, (Integer) value);
            case "cp" -> p.cp = positive(key, (Integer) value);
            case "sp" -> p.sp = (Boolean) value;
            default -> throw new IllegalArgumentException("no pool property '" + key + "'");
        }
        changed("pool." + key);
        return old;
    }

    public static Object poolProperty(Pool p, String key) {
        return switch (key) {
            case "name" -> p.name;
            case "role" -> p.role;
            case "tp" -> p.tp;
            case "pp" -> p.pp;
            case "ep" -> p.ep;
            case "cp" -> p.cp;
            case "sp" -> p.sp;
            default -> throw new IllegalArgumentException("no pool property '" + key + "'");
        };
    }

    private static int positive(String key, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(key + " must be at least 1, got " + v);
        }
        return v;
    }

    /** Where a GPU sits: its pool and rank. */
    public record PoolSlot(Pool pool, int index, Gpu gpu) {
    }

    public Pool poolOf(Gpu g) {
        PoolSlot s = slotOf(g);
        return s == null ? null : s.pool;
    }

    public PoolSlot slotOf(Gpu g) {
        for (Pool p : pools) {
            int i = p.gpus.indexOf(g);
            if (i >= 0) {
                return new PoolSlot(p, i, g);
            }
        }
        return null;
    }

    /**
     * Moves a GPU into a pool at a rank (or out of every pool when {@code to} is null); returns
     * where it was, which {@link #moveGpu} given back undoes the move.
     */
    public PoolSlot moveGpu(Gpu g, Pool to, int index) {
        PoolSlot from = slotOf(g);
        if (from != null) {
            from.pool.gpus.remove(from.index);
        }
        if (to != null) {
            to.gpus.add(Math.max(0, Math.min(index, to.gpus.size())), g);
        }
        changed("gpu " + g.id());
        return from;
    }

    // ---- names ----

    private String uniqueNodeName(String base) {
        String n = base;
        for (int i = 1; nodeNamed(n) != null; i++) {
            n = base + "-" + i;
        }
        return n;
    }

    private String uniquePoolName(String base) {
        String n = base;
        for (int i = 1; poolNamed(n) != null; i++) {
            n = base + "-" + i;
        }
        return n;
    }

    public Node nodeNamed(String n) {
        return nodes.stream().filter(x -> x.name.equals(n)).findFirst().orElse(null);
    }

    public Pool poolNamed(String n) {
        return pools.stream().filter(x -> x.name.equals(n)).findFirst().orElse(null);
    }

    /** A fresh node name: node0, node1, ... */
    public String nextNodeName() {
        return uniqueNodeName("node" + nodes.size());
    }
}
