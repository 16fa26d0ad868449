package org.llmwb.runner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.llmwb.core.catalog.GpuCatalog;

import picocli.CommandLine.Option;

/** Options every command has: JSON output and user GPU catalog files. */
public final class CommonOptions {
    @Option(names = "--json", description = "print machine-readable JSON instead of text")
    boolean json;

    @Option(names = "--gpu-file", paramLabel = "YAML", description = "extra GPU definitions (repeatable); ~/.llmwb/gpus.yaml is read when present")
    List<Path> gpuFiles = new ArrayList<>();

    /** The built-in catalog plus ~/.llmwb/gpus.yaml (if present) plus --gpu-file entries. */
    public GpuCatalog catalog() {
        List<Path> files = new ArrayList<>();
        Path home = Path.of(System.getProperty("user.home"), ".llmwb", "gpus.yaml");
        if (Files.isRegularFile(home)) {
            files.add(home);
        }
        files.addAll(gpuFiles);
        return files.isEmpty() ? GpuCatalog.builtIn() : GpuCatalog.withUserFiles(files);
    }
}
