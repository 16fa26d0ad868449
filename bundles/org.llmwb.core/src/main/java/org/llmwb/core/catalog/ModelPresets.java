package org.llmwb.core.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.yaml.YNode;

/**
 * Named model presets: each is a real Hugging Face {@code config.json} shipped as a resource
 * ({@code models/<id>.json}), listed in {@code models/index.yaml} with its HF repository id.
 * {@link #resolve(String)} also accepts a path to a user's own {@code config.json} (or its folder).
 */
public final class ModelPresets {
    public record Preset(String id, String displayName, String hfId, String file) {
    }

    private static volatile Map<String, Preset> index;
    private static final Map<String, ModelConfig> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    private ModelPresets() {
    }

    public static List<Preset> all() {
        return new ArrayList<>(index().values());
    }

    public static List<String> ids() {
        return new ArrayList<>(index().keySet());
    }

    /** A preset by id (case-insensitive). */
    public static ModelConfig of(String id) {
        String key = id.trim().toLowerCase(Locale.ROOT);
        Preset p = index().get(key);
        if (p == null) {
            throw new InputException("unknown model '" + id + "'; presets: " + String.join(", ", index().keySet())
                    + " (or pass a path to a Hugging Face config.json)");
        }
        return CACHE.computeIfAbsent(key, k -> HfConfigReader.read(YNode.parse(resource("models/" + p.file()), p.file()), p.displayName(), p.hfId()));
    }

    /** A preset id, or a path to a {@code config.json} file or to a folder holding one. */
    public static ModelConfig resolve(String idOrPath) {
        if (index().containsKey(idOrPath.trim().toLowerCase(Locale.ROOT))) {
            return of(idOrPath);
        }
        Path p = Path.of(idOrPath);
        if (Files.isDirectory(p)) {
            p = p.resolve("config.json");
        }
        if (Files.isRegularFile(p) || idOrPath.endsWith(".json")) {
            String name = p.getParent() != null && p.getFileName().toString().equals("config.json")
                    ? p.getParent().getFileName().toString() : p.toString();
            return HfConfigReader.read(YNode.read(p), name, null);
        }
        return of(idOrPath); // throws the "unknown model" error with the preset list
    }

    private static Map<String, Preset> index() {
        Map<String, Preset> i = index;
        if (i == null) {
            Map<String, Preset> m = new LinkedHashMap<>();
            YNode root = YNode.parse(resource("models/index.yaml"), "models/index.yaml");
            for (YNode e : root.get("models").items()) {
                Preset p = new Preset(e.get("id").text(), e.get("name").text(), e.get("hfId").text(), e.get("file").text());
                m.put(p.id(), p);
            }
            index = i = m;
        }
        return i;
    }

    private static String resource(String name) {
        try (InputStream in = ModelPresets.class.getResourceAsStream("/org/llmwb/core/catalog/" + name)) {
            if (in == null) {
                throw new IllegalStateException("resource missing from org.llmwb.core: " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
