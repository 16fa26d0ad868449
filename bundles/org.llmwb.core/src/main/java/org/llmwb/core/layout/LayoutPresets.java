package org.llmwb.core.layout;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The layouts that open as examples, shipped as {@code .llmwb-layout} resources. */
public final class LayoutPresets {
    /** id, title, resource file. */
    public record Preset(String id, String title, String file) {
        public String text() {
            try (InputStream in = LayoutPresets.class.getResourceAsStream(file)) {
                if (in == null) {
                    throw new IllegalStateException("missing layout preset resource " + file);
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public Layout load() {
            return LayoutYaml.parse(text(), file);
        }
    }

    private static final List<Preset> ALL = List.of(
            new Preset("llama3-70b-tp4-dp2", "Llama-3-70B FP16, 8×H100, TP4 × DP2", "llama3-70b-tp4-dp2.llmwb-layout"),
            new Preset("deepseek-r1-tp2-ep4", "DeepSeek-R1 FP8, 8×H200, TP2 × EP4", "deepseek-r1-tp2-ep4.llmwb-layout"),
            new Preset("llama3-70b-disagg-2node", "Llama-3-70B FP8, 2 nodes, prefill TP2 × DP4 / decode TP8", "llama3-70b-disagg-2node.llmwb-layout"));

    private LayoutPresets() {
    }

    public static List<Preset> all() {
        return ALL;
    }

    public static Preset get(String id) {
        return ALL.stream().filter(p -> p.id().equals(id)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no layout preset '" + id + "'; presets: " + ALL.stream().map(Preset::id).toList()));
    }
}
