package org.llmwb.core.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.Units;
import org.llmwb.core.yaml.YNode;

/**
 * GPUs by id: the built-in datasheet entries (resource {@code gpus.yaml}) plus entries users add in
 * their own YAML files of the same shape. A user entry with a built-in id replaces it and is
 * marked as user-defined.
 */
public final class GpuCatalog {
    private static final Set<String> FLOP_KEYS = Set.of("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4");
    private static final Set<String> ENTRY_KEYS = Set.of("id", "name", "vendor", "memory", "denseTflops", "sparsity",
            "interconnect", "pcie", "source", "notes");
    private static volatile GpuCatalog builtIn;

    private final Map<String, GpuSpec> gpus = new LinkedHashMap<>();

    private GpuCatalog() {
    }

    /** The built-in catalog (parsed once). */
    public static GpuCatalog builtIn() {
        GpuCatalog c = builtIn;
        if (c == null) {
            synchronized (GpuCatalog.class) {
                if (builtIn == null) {
                    GpuCatalog fresh = new GpuCatalog();
                    try (InputStream in = GpuCatalog.class.getResourceAsStream("/org/llmwb/core/catalog/gpus.yaml")) {
                        if (in == null) {
                            throw new IllegalStateException("gpus.yaml missing from org.llmwb.core");
                        }
                        fresh.addAll(YNode.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "gpus.yaml"), "built-in");
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                    builtIn = fresh;
                }
                c = builtIn;
            }
        }
        return c;
    }

    /** The built-in catalog plus the entries of the given user files (later files win). */
    public static GpuCatalog withUserFiles(List<Path> files) {
        GpuCatalog c = new GpuCatalog();
        c.gpus.putAll(builtIn().gpus);
        for (Path f : files) {
            c.addAll(YNode.read(f), f.toString());
        }
        return c;
    }

    public Collection<GpuSpec> all() {
        return gpus.values();
    }

    public List<String> ids() {
        return new ArrayList<>(gpus.keySet());
    }

    /**
     * The catalog entry for a device name as the driver reports it ("NVIDIA H100 80GB HBM3" → the H100 SXM
     * entry): the first model token of the name (letters and digits, e.g. H100, A100, 4090) that a catalog
     * name contains. Null when none matches, e.g. for a CPU.
     */
    public GpuSpec forDeviceName(String deviceName) {
        if (deviceName == null) {
            return null;
        }
        for (String token : deviceName.split("[\\s,()]+")) {
            if (token.length() < 3 || !token.matches(".*\\d.*") || token.matches("\\d+GB") || token.startsWith("HBM")) {
                continue;
            }
            for (GpuSpec g : gpus.values()) {
                if ((" " + g.name() + " ").toUpperCase(java.util.Locale.ROOT).contains(" " + token.toUpperCase(java.util.Locale.ROOT) + " ")) {
                    return g;
                }
            }
        }
        return null;
    }

    /** Looks up by id (case-insensitive); unknown ids give an error that lists the known ones. */
    public GpuSpec get(String id) {
        GpuSpec g = gpus.get(id.trim().toLowerCase(java.util.Locale.ROOT));
        if (g == null) {
            throw new InputException("unknown GPU '" + id + "'; known: " + String.join(", ", gpus.keySet())
                    + " (add your own in a YAML file, see docs/gpus.md)");
        }
        return g;
    }

    private void addAll(YNode root, String origin) {
        YNode list = root.get("gpus");
        if (list == null) {
            throw new InputException(root.location(), "expected a top-level 'gpus:' list");
        }
        List<Problem> problems = new ArrayList<>();
        for (YNode e : list.items()) {
            try {
                GpuSpec g = parseEntry(e, origin);
                gpus.put(g.id(), g);
            } catch (InputException ex) {
                problems.addAll(ex.problems());
            }
        }
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
    }

    private static GpuSpec parseEntry(YNode e, String origin) {
        for (String k : e.entries().keySet()) {
            if (!ENTRY_KEYS.contains(k)) {
                throw new InputException(e.get(k).location(), "unknown GPU field '" + k + "'; known: " + ENTRY_KEYS);
            }
        }
        String id = required(e, "id").text().trim().toLowerCase(java.util.Locale.ROOT);
        YNode mem = required(e, "memory");
        double gib = positive(required(mem, "gib"));
        double tbs = positive(required(mem, "bandwidthTBs"));
        Map<String, Double> flops = new LinkedHashMap<>();
        YNode tf = required(e, "denseTflops");
        for (Map.Entry<String, YNode> f : tf.entries().entrySet()) {
            if (!FLOP_KEYS.contains(f.getKey())) {
                throw new InputException(f.getValue().location(), "unknown precision key '" + f.getKey() + "'; known: " + FLOP_KEYS);
            }
            flops.put(f.getKey(), positive(f.getValue()) * Units.TFLOPS);
        }
        if (!flops.containsKey("fp32") && !flops.containsKey("bf16") && !flops.containsKey("fp16")) {
            throw new InputException(tf.location(), "denseTflops needs at least one of fp32, bf16, fp16");
        }
        YNode link = e.get("interconnect");
        YNode pcie = e.get("pcie");
        return new GpuSpec(id, text(e, "name", id), text(e, "vendor", ""), gib * Units.GIB, mem.has("type") ? mem.get("type").text() : "",
                tbs * Units.TB, Map.copyOf(flops), text(e, "sparsity", "dense figures"),
                link == null ? "none" : text(link, "name", "link"), link == null ? 0 : positive(required(link, "gbs")) * Units.GB,
                pcie == null ? "PCIe" : text(pcie, "name", "PCIe"), pcie == null ? 64 * Units.GB : positive(required(pcie, "gbs")) * Units.GB,
                text(e, "source", ""), text(e, "notes", ""), origin);
    }

    private static YNode required(YNode map, String key) {
        YNode v = map.get(key);
        if (v == null) {
            throw new InputException(map.location(), "missing required field '" + key + "'");
        }
        return v;
    }

    private static String text(YNode map, String key, String dflt) {
        YNode v = map.get(key);
        return v == null ? dflt : v.text();
    }

    private static double positive(YNode n) {
        double v = n.asDouble();
        if (v <= 0) {
            throw new InputException(n.location(), "must be > 0 but is " + v);
        }
        return v;
    }
}
