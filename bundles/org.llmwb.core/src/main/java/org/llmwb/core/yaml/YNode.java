package org.llmwb.core.yaml;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.SourceLocation;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * A YAML (or JSON, which SnakeYAML reads as YAML) node that remembers where it came from, so every
 * error about user files can say {@code file:line:column}. Values are read as text and converted
 * here, which also sidesteps YAML 1.1's surprises ({@code 1e-05} is a string there).
 */
public final class YNode {
    private final Node node;
    private final String source;
    private Map<String, YNode> map; // built lazily for mappings

    private YNode(Node node, String source) {
        this.node = node;
        this.source = source;
    }

    /** Parses text; syntax errors become an {@link InputException} with the position. */
    public static YNode parse(String text, String source) {
        LoaderOptions opts = new LoaderOptions();
        opts.setCodePointLimit(64 * 1024 * 1024);
        opts.setMaxAliasesForCollections(50);
        try {
            Node root = new Yaml(opts).compose(new StringReader(text));
            if (root == null) {
                throw new InputException(new SourceLocation(source, 1, 1), "the file is empty");
            }
            YNode n = new YNode(root, source);
            n.checkDuplicateKeys();
            return n;
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            SourceLocation at = m == null ? SourceLocation.of(source) : new SourceLocation(source, m.getLine() + 1, m.getColumn() + 1);
            String what = (e.getContext() == null ? "" : e.getContext() + ", ") + (e.getProblem() == null ? "syntax error" : e.getProblem());
            throw new InputException(at, "malformed YAML/JSON: " + what);
        } catch (YAMLException e) {
            throw new InputException(SourceLocation.of(source), "malformed YAML/JSON: " + e.getMessage());
        }
    }

    /** Reads and parses a file; a missing or unreadable file is an {@link InputException}. */
    public static YNode read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InputException(SourceLocation.of(file.toString()), "file not found");
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(file.toString()), "cannot read file: " + e.getMessage());
        }
        return parse(text, file.toString());
    }

    public SourceLocation location() {
        Mark m = node.getStartMark();
        return m == null ? SourceLocation.of(source) : new SourceLocation(source, m.getLine() + 1, m.getColumn() + 1);
    }

    public String source() {
        return source;
    }

    public boolean isMap() {
        return node instanceof MappingNode;
    }

    public boolean isList() {
        return node instanceof SequenceNode;
    }

    public boolean isScalar() {
        return node instanceof ScalarNode;
    }

    /** True for a YAML null ({@code ~}, {@code null}, or an empty value). */
    public boolean isNull() {
        return node instanceof ScalarNode s && "tag:yaml.org,2002:null".equals(s.getTag().getValue());
    }

    public String kindName() {
        return isMap() ? "a mapping" : isList() ? "a list" : isNull() ? "null" : "a scalar";
    }

    /** The scalar's text; throws with the location if this is not a scalar. */
    public String text() {
        if (node instanceof ScalarNode s) {
            return s.getValue();
        }
        throw new InputException(location(), "expected a single value but found " + kindName());
    }

    /** Entries of a mapping in file order. */
    public Map<String, YNode> entries() {
        if (!(node instanceof MappingNode m)) {
            throw new InputException(location(), "expected a mapping (key: value) but found " + kindName());
        }
        if (map == null) {
            Map<String, YNode> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                if (!(t.getKeyNode() instanceof ScalarNode k)) {
                    throw new InputException(new YNode(t.getKeyNode(), source).location(), "keys must be plain names");
                }
                out.put(k.getValue(), new YNode(t.getValueNode(), source));
            }
            map = out;
        }
        return map;
    }

    /** A key of a mapping, or null when absent. */
    public YNode get(String key) {
        return entries().get(key);
    }

    public boolean has(String key) {
        return isMap() && entries().containsKey(key);
    }

    public List<YNode> items() {
        if (!(node instanceof SequenceNode s)) {
            throw new InputException(location(), "expected a list but found " + kindName());
        }
        List<YNode> out = new ArrayList<>();
        for (Node n : s.getValue()) {
            out.add(new YNode(n, source));
        }
        return out;
    }

    public long asLong() {
        String t = text().trim().replace("_", "");
        try {
            if (t.matches("[-+]?[0-9]+")) {
                return Long.parseLong(t);
            }
            double d = Double.parseDouble(t);
            if (d == Math.rint(d) && Math.abs(d) < 9e18) {
                return (long) d;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new InputException(location(), "expected a whole number but found '" + t + "'");
    }

    public int asInt() {
        long v = asLong();
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw new InputException(location(), "number " + v + " is out of range");
        }
        return (int) v;
    }

    public double asDouble() {
        String t = text().trim().replace("_", "");
        try {
            double d = Double.parseDouble(t);
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new InputException(location(), "expected a number but found '" + t + "'");
        }
    }

    public boolean asBoolean() {
        String t = text().trim().toLowerCase();
        return switch (t) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new InputException(location(), "expected true or false but found '" + t + "'");
        };
    }

    private void checkDuplicateKeys() {
        List<Problem> problems = new ArrayList<>();
        collectDuplicates(node, problems);
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
    }

    private void collectDuplicates(Node n, List<Problem> problems) {
        if (n instanceof MappingNode m) {
            Set<String> seen = new HashSet<>();
            for (NodeTuple t : m.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && !seen.add(k.getValue())) {
                    problems.add(Problem.error(new YNode(k, source).location(), "duplicate-key", "key '" + k.getValue() + "' appears twice", "remove one of them"));
                }
                collectDuplicates(t.getValueNode(), problems);
            }
        } else if (n instanceof SequenceNode s) {
            for (Node c : s.getValue()) {
                collectDuplicates(c, problems);
            }
        }
    }
}
