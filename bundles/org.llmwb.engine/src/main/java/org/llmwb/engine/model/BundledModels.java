package org.llmwb.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The small trained models the repository ships under {@code models/} ({@code kjv-target}, {@code kjv-draft}: a
 * Llama-architecture pair trained on the King James Bible by {@code tools/hf/make_parity_fixtures.py}), found from
 * the {@code llmwb.home} system property (the launcher sets it) or from the working directory upwards.
 */
public final class BundledModels {
    private BundledModels() {
    }

    /** The folder of a bundled model (e.g. "kjv-target"), if this installation has it. */
    public static Optional<Path> find(String name) {
        String home = System.getProperty("llmwb.home");
        if (home != null && Files.isRegularFile(Path.of(home, "models", name, "config.json"))) {
            return Optional.of(Path.of(home, "models", name));
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models").resolve(name).resolve("config.json"))) {
                return Optional.of(p.resolve("models").resolve(name));
            }
        }
        return Optional.empty();
    }

    /**
     * The stop token ids of {@code generation_config.json}'s {@code eos_token_id} (a number or a list), empty when the
     * folder has no such file.
     */
    public static Set<Integer> generationStopIds(Path dir) {
        Path f = dir.resolve("generation_config.json");
        Set<Integer> out = new LinkedHashSet<>();
        if (!Files.isRegularFile(f)) {
            return out;
        }
        JsonNode n;
        try {
            n = Json.parse(Files.readString(f)).get("eos_token_id");
        } catch (IOException | RuntimeException e) {
            throw new InputException(SourceLocation.of(f.toString()), "not a valid generation_config.json: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (n == null || n.isNull()) {
            return out;
        }
        for (JsonNode id : n.isArray() ? n : Json.MAPPER.createArrayNode().add(n)) {
            if (!id.canConvertToInt() || id.asInt() < 0) {
                throw new InputException(SourceLocation.of(f.toString()), "eos_token_id must be a token id or a list of them, not " + id);
            }
            out.add(id.asInt());
        }
        return out;
    }
}
