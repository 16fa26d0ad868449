package org.llmwb.runner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.llmwb.core.InputException;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.serve.EngineLoop;
import org.llmwb.engine.tokenizer.BpeTokenizer;
import org.llmwb.runner.http.OpenAiServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", description = {"Serve the runner protocol on stdin/stdout (--stdio, docs/protocol.md), or an OpenAI-compatible HTTP API"
        + " over the engine (--http PORT): GET /v1/models, POST /v1/completions and /v1/chat/completions, streamed with \"stream\": true.",
        "Without --model the HTTP server serves the bundled trained model (models/kjv-target: 7.3M parameters trained on the King James Bible),",
        "or, where that folder is missing, a small built-in synthetic model (seeded random weights: its text is meaningless)."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--stdio", description = "speak the JSON-lines protocol on stdin/stdout (used by the workbench, or over ssh)")
    boolean stdio;
    @Option(names = "--http", paramLabel = "PORT", description = "serve the OpenAI-compatible API on this port (0 picks a free one)")
    Integer port;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for all)")
    String host;
    @Option(names = {"-m", "--model"}, paramLabel = "DIR", description = "checkpoint folder (config.json, safetensors, tokenizer.json; default: models/kjv-target)")
    Path model;
    @Option(names = "--served-model-name", description = "the model id clients send (default: the folder name; without --model, kjv-target, the bundled trained model, or llmwb-tiny where it is missing)")
    String name;
    @Option(names = "--max-seqs", defaultValue = "16", description = "sequences in flight at most (default: ${DEFAULT-VALUE})")
    int maxSeqs;
    @Option(names = "--max-batched-tokens", defaultValue = "512", description = "tokens per step, the chunked-prefill budget (default: ${DEFAULT-VALUE})")
    int maxBatchedTokens;
    @Option(names = "--block-size", defaultValue = "16", description = "KV block size in tokens (default: ${DEFAULT-VALUE})")
    int blockSize;
    @Option(names = "--kv-blocks", defaultValue = "0", description = "KV pool size in blocks (default: max-seqs × max-model-len)")
    int kvBlocks;
    @Option(names = "--max-model-len", defaultValue = "0", description = "longest sequence (default: the model's, at most 4096)")
    int maxModelLen;
    @Option(names = "--no-prefix-caching", description = "turn prefix caching off")
    boolean noPrefixCaching;
    @Option(names = "--backend", defaultValue = "auto", description = "auto (the GPU when there is one), cuda or cpu (default: ${DEFAULT-VALUE})")
    String backend;
    @Option(names = "--speculative", defaultValue = "none", paramLabel = "none|ngram|layer-skip",
            description = "speculative decoding: n-gram (prompt lookup) or early-exit self-speculation drafts, verified in one forward (default: ${DEFAULT-VALUE})")
    String speculative;
    @Option(names = "--spec-k", defaultValue = "4", description = "drafts per verify step (default: ${DEFAULT-VALUE})")
    int specK;
    @Option(names = "--quantization", defaultValue = "none", paramLabel = "none|int8|int4|fp8|nvfp4", description = "weights quantized at load (default: ${DEFAULT-VALUE})")
    String quantization;
    @Option(names = "--kv-cache-dtype", defaultValue = "auto", paramLabel = "auto|fp8", description = "KV cache storage; fp8 on the CPU backend only (default: ${DEFAULT-VALUE})")
    String kvCacheDtype;
    @Option(names = "--no-graphs", description = "launch decode kernels one by one instead of replaying CUDA graphs (GPU)")
    boolean noGraphs;

    @Override
    public Integer call() throws Exception {
        if (stdio == (port != null)) {
            throw new InputException("say how to serve: --stdio (runner protocol) or --http PORT (OpenAI-compatible API), one of them");
        }
        if (stdio) {
            return new StdioServer(System.in, System.out, common.catalog()).serve();
        }
        if (port < 0 || port > 65535 || maxSeqs < 1 || maxBatchedTokens < 1 || blockSize < 1 || kvBlocks < 0 || maxModelLen < 0) {
            throw new InputException("--http PORT must be in 0..65535; --max-seqs, --max-batched-tokens and --block-size >= 1; --kv-blocks and --max-model-len >= 0");
        }
        if (!java.util.Set.of("auto", "cuda", "cpu").contains(backend)) {
            throw new InputException("--backend is auto, cuda or cpu, not '" + backend + "'");
        }
        org.llmwb.backend.cuda.CudaProbe.Result probe = org.llmwb.backend.cuda.CudaProbe.probe();
        if (backend.equals("cuda") && !probe.available()) {
            throw new InputException("--backend cuda needs a GPU, but there is none here (" + probe.reason() + ")");
        }
        boolean gpu = !backend.equals("cpu") && probe.available();
        var err = spec.commandLine().getErr();
        // default: the bundled trained model (readable text), else the generator's random-weight tiny model
        java.util.Optional<Path> bundled = model == null ? org.llmwb.engine.model.BundledModels.find("kjv-target") : java.util.Optional.empty();
        Path dir = model != null ? model : bundled.orElseGet(() -> EngineSweep.checkpointFor("tiny", 1));
        if (model != null && !Files.isRegularFile(model.resolve("config.json"))) {
            throw new InputException(org.llmwb.core.SourceLocation.of(model.toString()), "not a checkpoint folder: no config.json");
        }
        String id = name != null ? name : model != null ? model.toAbsolutePath().normalize().getFileName().toString() : bundled.isPresent() ? "kjv-target" : "llmwb-tiny";
        org.llmwb.engine.model.ModelRunner runner;
        BpeTokenizer tok;
        org.llmwb.engine.tokenizer.ChatTemplate chat;
        java.util.Set<Integer> stopIds;
        try (Checkpoint ck = Checkpoint.open(dir)) {
            if (!Files.isRegularFile(ck.tokenizerFile())) {
                throw new InputException(org.llmwb.core.SourceLocation.of(dir.toString()), "the HTTP server needs the checkpoint's tokenizer.json");
            }
            tok = BpeTokenizer.load(ck.tokenizerFile());
            chat = org.llmwb.engine.tokenizer.ChatTemplate.load(dir);
            stopIds = org.llmwb.engine.model.BundledModels.generationStopIds(dir);
            int modelMax = (int) Math.min(Integer.MAX_VALUE, ck.config().maxPositions());
            int len = maxModelLen > 0 ? Math.min(maxModelLen, modelMax) : Math.min(modelMax, 4096);
            int blocks = kvBlocks > 0 ? kvBlocks : maxSeqs * ((len + blockSize - 1) / blockSize);
            org.llmwb.engine.quant.Quantization quant;
            org.llmwb.engine.spec.SpecConfig.Method method;
            try {
                quant = new org.llmwb.engine.quant.Quantization(org.llmwb.engine.quant.Quantization.weights(quantization),
                        org.llmwb.engine.quant.Quantization.kv(kvCacheDtype));
                method = org.llmwb.engine.spec.SpecConfig.Method.parse(speculative);
                if (method == org.llmwb.engine.spec.SpecConfig.Method.DRAFT_MODEL) {
                    throw new IllegalArgumentException("the server drafts with ngram or layer-skip; a draft model runs from engine-run experiments");
                }
            } catch (IllegalArgumentException ex) {
                throw new InputException(ex.getMessage());
            }
            if (gpu) {
                org.llmwb.backend.cuda.Gpu g = org.llmwb.backend.cuda.Gpu.open();
                try {
                    runner = new org.llmwb.engine.model.CudaModelRunner(g, ck, blocks, blockSize, quant).useGraphs(!noGraphs);
                } catch (RuntimeException ex) {
                    g.close();
                    throw ex;
                }
            } else {
                runner = new CpuModelRunner(new org.llmwb.engine.model.LlamaCpu(ck, quant), blocks, blockSize);
            }
            LlmEngine engine = new LlmEngine(runner, new BlockManager(blocks, blockSize, !noPrefixCaching), SchedulerConfig.continuous(maxBatchedTokens, maxSeqs),
                    len, LlmEngine.wallClock());
            if (method != org.llmwb.engine.spec.SpecConfig.Method.NONE) {
                org.llmwb.engine.spec.SpecConfig sc = new org.llmwb.engine.spec.SpecConfig(method, specK, false, 1, 3, ck.config().numLayers() / 2, null);
                engine.speculate(new org.llmwb.engine.spec.Speculator(sc, method == org.llmwb.engine.spec.SpecConfig.Method.NGRAM
                        ? new org.llmwb.engine.spec.NgramDrafter(1, 3) : org.llmwb.engine.spec.ModelDrafter.layerSkip(runner, Math.max(1, ck.config().numLayers() / 2))));
            }
            OpenAiServer bound;
            EngineLoop engineLoop = new EngineLoop(engine, "llmwb-engine");
            try {
                bound = new OpenAiServer(engineLoop, tok, chat, stopIds, id, host, port, err);
            } catch (java.net.BindException e) {
                engineLoop.close();
                runner.close();
                throw new InputException("cannot listen on " + host + ":" + port + ": " + e.getMessage() + " (another server is using the port? pick one with --http PORT)");
            }
            try (runner; EngineLoop loop = engineLoop; OpenAiServer server = bound) {
                err.printf("serving %s (%s, %d layers, hidden %d; %s) on http://%s:%d/v1 — continuous batching, %d seqs, %d tokens/step, KV %d × %d%s%n", id,
                        runner.device(), ck.config().numLayers(), ck.config().hiddenSize(), (model == null && bundled.isEmpty() ? "built-in synthetic model, random weights" : dir) + (chat == null ? ", no chat template" : ", chat template"), host,
                        server.port(), maxSeqs, maxBatchedTokens, blocks, blockSize,
                        method == org.llmwb.engine.spec.SpecConfig.Method.NONE ? "" : ", speculative " + method.id() + " k=" + specK);
                err.flush();
                CountDownLatch stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
                stop.await();
            }
        }
        return 0;
    }
}
