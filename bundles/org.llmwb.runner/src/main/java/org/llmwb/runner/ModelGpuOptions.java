package org.llmwb.runner;

import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

import picocli.CommandLine.Option;

/** The model, GPU and precision options of the sizing commands (mem, roofline, plan), and how they resolve. */
final class ModelGpuOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PRESET|config.json", description = "model preset id or a Hugging Face config.json")
    String model;
    @Option(names = {"-g", "--gpu"}, required = true, paramLabel = "GPU", description = "GPU id (llmwb gpus)")
    String gpu;
    @Option(names = {"-p", "--precision"}, defaultValue = "bf16", description = "weight precision (default: ${DEFAULT-VALUE})")
    String precision;
    @Option(names = "--kv-precision", description = "KV precision (default: as the weights, or bf16 for narrow weights)")
    String kvPrecision;

    ModelConfig model() {
        return ModelPresets.resolve(model);
    }

    GpuSpec gpu(GpuCatalog catalog) {
        return catalog.get(gpu);
    }

    Precision weights() {
        return Precision.parse(precision);
    }

    Precision kv() {
        return Precision.kvOrDefault(kvPrecision, weights());
    }
}
