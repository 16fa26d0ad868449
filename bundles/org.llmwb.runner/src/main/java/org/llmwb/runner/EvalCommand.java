package org.llmwb.runner;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.engine.eval.Perplexity;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", description = "Evaluate a checkpoint.", subcommands = {EvalCommand.PerplexityCommand.class})
final class EvalCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "perplexity", description = {"Perplexity of a checkpoint on a text: windows of --window tokens (BOS, then the text's next tokens),",
            "every token after the BOS predicted from those before it; the same windows as tools/hf/make_parity_fixtures.py uses with transformers."})
    static final class PerplexityCommand implements Callable<Integer> {
        @Mixin
        CommonOptions common;
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR", description = "checkpoint folder (config.json, safetensors, tokenizer.json)")
        Path model;
        @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text")
        Path text;
        @Option(names = "--window", defaultValue = "256", description = "tokens per window, BOS included (default: ${DEFAULT-VALUE})")
        int window;
        @Option(names = "--backend", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE})")
        String backend;
        @Option(names = "--quantization", defaultValue = "none", description = "none, int8, int4, int4-awq, fp8, nvfp4 (load-time weight quantization)")
        String quantization;
        @Option(names = "--kv-cache-dtype", defaultValue = "auto", paramLabel = "auto|fp8", description = "KV cache storage; fp8 (E4M3, unit scale; tokens attend to the rounded K/V) on the CPU backend only (default: ${DEFAULT-VALUE})")
        String kvDtype;

        @Override
        public Integer call() throws Exception {
            if (!backend.equals("cpu") && !backend.equals("cuda")) {
                throw new InputException("--backend is cpu or cuda, not '" + backend + "'");
            }
            if (!Files.isRegularFile(text)) {
                throw new InputException(SourceLocation.of(text.toString()), "file not found");
            }
            try (Checkpoint ck = Checkpoint.open(model)) {
                if (window < 2 || window > ck.config().maxPositions()) {
                    throw new InputException("--window must be in 2.." + ck.config().maxPositions() + " (the model's positions)");
                }
                BpeTokenizer tok = BpeTokenizer.load(ck.tokenizerFile());
                int bos = bosId(ck, tok);
                var ids = tok.encode(Files.readString(text, StandardCharsets.UTF_8));
                org.llmwb.engine.quant.Quantization quant;
                try {
                    quant = new org.llmwb.engine.quant.Quantization(org.llmwb.engine.quant.Quantization.weights(quantization),
                            org.llmwb.engine.quant.Quantization.kv(kvDtype));
                } catch (IllegalArgumentException ex) {
                    throw new InputException(ex.getMessage());
                }
                int blockSize = 16;
                int blocks = (window + blockSize - 1) / blockSize;
                long t0 = System.nanoTime();
                Perplexity.Result r;
                var err = spec.commandLine().getErr();
                Perplexity.Progress progress = (d, of) -> {
                    if (d == of || d % Math.max(1, of / 10) == 0) {
                        err.printf(Locale.ROOT, "\rperplexity: window %d of %d", d, of);
                        err.flush();
                    }
                };
                try (ModelRunner runner = open(ck, blocks, blockSize, quant)) {
                    r = Perplexity.of(runner, ids, bos, window, progress);
                } catch (IllegalArgumentException ex) {
                    throw new InputException(ex.getMessage());
                }
                err.println();
                double s = (System.nanoTime() - t0) / 1e9;
                var out = spec.commandLine().getOut();
                if (common.json) {
                    out.println(Json.pretty(Json.object().put("model", model.toString()).put("text", text.toString()).put("backend", backend)
                            .put("quantization", quantization).put("kvCacheDtype", kvDtype).put("window", window).put("tokens", r.tokens()).put("windows", r.windows())
                            .put("meanNll", r.meanNll()).put("perplexity", r.perplexity()).put("seconds", s)));
                } else {
                    out.printf(Locale.ROOT, "perplexity %.3f (mean NLL %.4f nats) over %,d predicted tokens in %d windows of %d; %s, %s weights, %s KV cache; %.1f s%n",
                            r.perplexity(), r.meanNll(), r.tokens(), r.windows(), window, backend, quantization, kvDtype, s);
                }
                return 0;
            }
        }

        private ModelRunner open(Checkpoint ck, int blocks, int blockSize, org.llmwb.engine.quant.Quantization quant) {
            if (backend.equals("cpu")) {
                return new CpuModelRunner(new org.llmwb.engine.model.LlamaCpu(ck, quant), blocks, blockSize);
            }
            org.llmwb.backend.cuda.CudaProbe.Result probe = org.llmwb.backend.cuda.CudaProbe.probe();
            if (!probe.available()) {
                throw new InputException("--backend cuda needs a GPU, but there is none here (" + probe.reason() + ")");
            }
            org.llmwb.backend.cuda.Gpu g = org.llmwb.backend.cuda.Gpu.open();
            try {
                return new org.llmwb.engine.model.CudaModelRunner(g, ck, blocks, blockSize, quant);
            } catch (RuntimeException ex) {
                g.close();
                throw ex;
            }
        }

        /** BOS: config.json's bos_token_id, else the tokenizer's <|begin_of_text|>, <s> or <bos>. */
        private static int bosId(Checkpoint ck, BpeTokenizer tok) throws java.io.IOException {
            var c = Json.parse(Files.readString(ck.dir().resolve("config.json")));
            if (c.path("bos_token_id").canConvertToInt()) {
                return c.get("bos_token_id").asInt();
            }
            for (String t : new String[] {"<|begin_of_text|>", "<s>", "<bos>"}) {
                if (tok.specialId(t) >= 0) {
                    return tok.specialId(t);
                }
            }
            throw new InputException(SourceLocation.of(ck.dir().toString()), "no BOS token: config.json has no bos_token_id and the tokenizer none of <|begin_of_text|>, <s>, <bos>");
        }
    }
}
