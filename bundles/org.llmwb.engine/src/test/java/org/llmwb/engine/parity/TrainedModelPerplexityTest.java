package org.llmwb.engine.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.llmwb.core.result.Json;
import org.llmwb.engine.eval.Perplexity;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The trained pair in {@code models/} (made by {@code tools/hf/make_parity_fixtures.py}): the CPU engine's held-out
 * perplexity of each must equal what transformers measured on the same saved weights and the same windows
 * ({@code models/train.json}, {@code heldout_ppl_saved_bf16_weights}), within 0.1% (FP32 against FP32 over the
 * same tokens), and the target must be the better model (lower perplexity than the draft).
 */
class TrainedModelPerplexityTest {
    @Test
    void heldOutPerplexityMatchesTransformers() throws Exception {
        Path models = TransformersParity.parityRoot().resolve("models");
        JsonNode train = Json.parse(Files.readString(models.resolve("train.json")));
        String text = Files.readString(models.resolve("kjv-heldout.txt"), StandardCharsets.UTF_8);
        double target = 0;
        double draft = 0;
        for (String name : List.of("kjv-target", "kjv-draft")) {
            JsonNode rec = train.path("models").path(name);
            double expected = rec.path("heldout_ppl_saved_bf16_weights").asDouble();
            int window = rec.path("window").asInt();
            try (Checkpoint ck = Checkpoint.open(models.resolve(name))) {
                BpeTokenizer tok = BpeTokenizer.load(ck.tokenizerFile());
                List<Integer> ids = tok.encode(text);
                assertEquals(train.path("heldout_tokens").asInt(), ids.size(), name + ": held-out token count differs from the recipe's");
                long t0 = System.nanoTime();
                Perplexity.Result r;
                try (CpuModelRunner runner = CpuModelRunner.open(ck, (window + 15) / 16, 16)) {
                    r = Perplexity.of(runner, ids, tok.specialId("<|begin_of_text|>"), window, null);
                }
                System.out.printf("%s: held-out perplexity %.4f (transformers on the same weights: %.4f) over %d tokens, %.1f s%n", name, r.perplexity(), expected,
                        r.tokens(), (System.nanoTime() - t0) / 1e9);
                assertEquals(expected, r.perplexity(), expected * 1e-3, name);
                if (name.equals("kjv-target")) {
                    target = r.perplexity();
                } else {
                    draft = r.perplexity();
                }
            }
        }
        assertTrue(target < draft, "the target (" + target + ") should model the held-out text better than the draft (" + draft + ")");
    }
}
