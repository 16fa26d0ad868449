package org.llmwb.runner;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.Safetensors;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "make-checkpoint", description = "Write a checkpoint folder with seeded random weights (safetensors + config.json + a BPE"
        + " tokenizer.json): tiny by default, or shaped like a catalog model (--like). Its output text is meaningless by design.")
final class MakeCheckpointCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "new (or empty) folder")
    Path dir;
    @Option(names = "--like", paramLabel = "PRESET", description = "take the layer shapes of a Llama-family preset (e.g. llama-3.2-1b); vocabulary stays the small BPE")
    String like;
    @Option(names = "--layers", description = "override the number of layers")
    Integer layers;
    @Option(names = "--seed", defaultValue = "1")
    long seed;
    @Option(names = "--dtype", defaultValue = "BF16", description = "F32, F16 or BF16 (default: ${DEFAULT-VALUE})")
    Safetensors.Dtype dtype;
    @Option(names = "--shards", defaultValue = "1", description = "safetensors files (more than 1 writes an index; default: ${DEFAULT-VALUE})")
    int shards;

    @Override
    public Integer call() throws IOException {
        CheckpointGenerator.Shape s = CheckpointGenerator.Shape.tiny();
        if (like != null) {
            ModelConfig m = ModelPresets.of(like);
            if (m.kvLoraRank() > 0 || m.numExperts() > 0 || !m.gatedMlp()) {
                throw new InputException("--like " + like + ": the engine runs Llama-family dense models");
            }
            s = new CheckpointGenerator.Shape(m.hiddenSize(), m.intermediateSize(), m.numLayers(), m.numHeads(), m.numKvHeads(), m.headDim(), 1000,
                    m.tieEmbeddings(), (int) Math.min(m.maxPositions(), 131072), m.ropeTheta());
        }
        if (layers != null) {
            s = new CheckpointGenerator.Shape(s.hidden(), s.intermediate(), layers, s.heads(), s.kvHeads(), s.headDim(), s.merges(), s.tied(), s.maxPositions(),
                    s.ropeTheta());
        }
        if (shards < 1 || shards > 64) {
            throw new InputException("--shards must be in 1..64");
        }
        Path out = CheckpointGenerator.generate(dir, s, seed, dtype, shards);
        spec.commandLine().getOut().println("wrote " + out + " (" + s.layers() + " layers, hidden " + s.hidden() + ", " + s.heads() + "/" + s.kvHeads()
                + " heads, seeded random weights: not a trained model)");
        return 0;
    }
}
