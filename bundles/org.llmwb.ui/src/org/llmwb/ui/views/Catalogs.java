package org.llmwb.ui.views;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;

/**
 * The GPU catalog the views offer: built-in datasheet entries plus the user's own from
 * {@code ~/.llmwb/gpus.yaml} (or {@code -Dllmwb.gpus=FILE}), the same file the CLI reads.
 */
final class Catalogs {
    private Catalogs() {
    }

    /** The catalog, and the problem with the user's file if it could not be read (null when fine). */
    record Loaded(GpuCatalog catalog, String problem) {
    }

    static Path userFile() {
        String p = System.getProperty("llmwb.gpus");
        return p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".llmwb", "gpus.yaml");
    }

    static Loaded load() {
        Path f = userFile();
        if (!Files.isRegularFile(f)) {
            return new Loaded(GpuCatalog.builtIn(), null);
        }
        try {
            return new Loaded(GpuCatalog.withUserFiles(List.of(f)), null);
        } catch (InputException e) {
            return new Loaded(GpuCatalog.builtIn(), "your GPU file was not loaded: " + e.getMessage());
        }
    }

    /** "datasheet: URL" or "user-defined: FILE", for labels. */
    static String provenance(GpuSpec g) {
        return g.isUserDefined() ? "user-defined in " + g.origin() : "datasheet: " + g.source();
    }
}
