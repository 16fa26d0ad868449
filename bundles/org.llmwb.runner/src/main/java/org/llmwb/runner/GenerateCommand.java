package org.llmwb.runner;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", description = "Greedy generation from a checkpoint folder (config.json, safetensors, tokenizer.json) on the CPU engine,"
        + " with a paged KV cache; prints the text and the measured prefill and decode times.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR", description = "checkpoint folder (yours, or one from `llmwb make-checkpoint`)")
    Path model;
    @Option(names = {"-p", "--prompt"}, required = true, description = "prompt text")
    String prompt;
    @Option(names = "--max-tokens", defaultValue = "32", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--block-size", defaultValue = "16", description = "KV block size in tokens (default: ${DEFAULT-VALUE})")
    int blockSize;

    @Override
    public Integer call() {
        if (maxTokens < 1 || maxTokens > 100_000 || blockSize < 1 || blockSize > 1024) {
            throw new InputException("--max-tokens must be in 1..100000 and --block-size in 1..1024");
        }
        try (Checkpoint ck = Checkpoint.open(model)) {
            BpeTokenizer tok = BpeTokenizer.load(ck.tokenizerFile());
            long t0 = System.nanoTime();
            LlamaCpu m = new LlamaCpu(ck);
            double loadS = (System.nanoTime() - t0) / 1e9;
            List<Integer> ids = new ArrayList<>();
            int bos = tok.specialId("<|begin_of_text|>");
            if (bos >= 0) {
                ids.add(bos);
            }
            ids.addAll(tok.encode(prompt));
            int eos = tok.specialId("<|end_of_text|>");
            int total = ids.size() + maxTokens;
            if (total > ck.config().maxPositions()) {
                throw new InputException("prompt + max tokens = " + total + " exceeds the model's " + ck.config().maxPositions() + " positions");
            }
            int blocks = (total + blockSize - 1) / blockSize;
            // one request on the engine: a single prefill step of the whole prompt, then one decode step per token
            LlmEngine engine = new LlmEngine(new CpuModelRunner(m, blocks, blockSize), new BlockManager(blocks, blockSize),
                    new SchedulerConfig(SchedulerConfig.Batching.CONTINUOUS, SchedulerConfig.Order.FCFS, false, ids.size(), 1, 0));
            Sequence seq = engine.add(ids.stream().mapToInt(Integer::intValue).toArray(), SamplingParams.greedy(maxTokens)
                    .withStop(eos >= 0 ? java.util.Set.of(eos) : java.util.Set.of(), false), 0, engine.now());
            while (engine.hasWork()) {
                engine.step(false);
            }
            List<Double> times = seq.tokenTimes();
            double prefillS = times.get(0) - seq.arrival();
            double decodeS = times.get(times.size() - 1) - times.get(0);
            List<Integer> out = java.util.Arrays.stream(seq.output()).boxed().toList();
            var o = spec.commandLine().getOut();
            o.println(prompt + tok.decode(out));
            spec.commandLine().getErr().printf(Locale.ROOT, "%s: %d layers, hidden %d, %s of FP32 weights loaded in %.2f s (CPU, ND4J)%n"
                    + "prefill %d tokens %.1f ms (%.0f tok/s); decode %d tokens %.1f ms (%.1f ms/token); KV %d blocks × %d tokens%n",
                    model.getFileName(), ck.config().numLayers(), ck.config().hiddenSize(), org.llmwb.core.Units.bytes(m.weightBytes()), loadS, ids.size(),
                    prefillS * 1e3, ids.size() / prefillS, out.size() - 1, decodeS * 1e3, out.size() > 1 ? decodeS * 1e3 / (out.size() - 1) : 0, blocks,
                    blockSize);
            return 0;
        }
    }
}
