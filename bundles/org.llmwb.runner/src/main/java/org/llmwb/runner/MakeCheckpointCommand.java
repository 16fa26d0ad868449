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
    @Option(names = "--like", paramLabel = "PRESET", description = "take the layer shapes of a Llama-family preset (e.g. llama-3.2-1b); the vocabulary stays the small BPE unless --real-vocab")
    String like;
    @Option(names = "--real-vocab", description = {"with --like: the preset's full vocabulary (embedding and LM head at their real size, the tokenizer padded",
        "with reserved tokens to cover it) and its Llama-3 RoPE scaling: the shape a decode step really streams"})
    boolean realVocab;
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
        if (realVocab && like == null) {
            throw new InputException("--real-vocab needs --like PRESET (the vocabulary is the preset's)");
        }
        if (like != null) {
            ModelConfig m = ModelPresets.of(like);
            s = realVocab ? CheckpointGenerator.Shape.real(m) : CheckpointGenerator.Shape.like(m);
        }
        if (layers != null) {
            if (layers < 1) {
                throw new InputException("--layers must be at least 1");
            }
            s = new CheckpointGenerator.Shape(s.hidden(), s.intermediate(), layers, s.heads(), s.kvHeads(), s.headDim(), s.merges(), s.tied(), s.maxPositions(),
                    s.ropeTheta(), s.vocab(), s.llama3Scaling());
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
