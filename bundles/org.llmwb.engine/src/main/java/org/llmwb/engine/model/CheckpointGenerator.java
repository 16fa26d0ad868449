package org.llmwb.engine.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.llmwb.core.result.Json;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a real Hugging Face-style checkpoint folder with seeded random weights: {@code config.json},
 * {@code model.safetensors} (or shards with {@code model.safetensors.index.json}) and a byte-level BPE
 * {@code tokenizer.json} learned from a text the repository ships. Weights are N(0, 0.02) (norm weights
 * around 1), so the model's output is meaningless text — it exists to exercise the engine's real code paths
 * at a real shape. The folder is built beside the target and moved into place when complete.
 */
public final class CheckpointGenerator {
    /**
     * The shape to generate (Llama-family, SwiGLU, GQA). {@code vocab} 0 keeps the trained BPE's own small vocabulary;
     * a larger one pads it with reserved special tokens up to that size, as Llama-3's 128,256 ids are 128,000 BPE
     * tokens and 256 reserved ones, so the embedding and the LM head have the real model's size. {@code llama3Scaling}
     * writes Llama-3.1/3.2's {@code rope_scaling} (factor 32, low 1, high 4, original 8192).
     */
    public record Shape(int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, int merges, boolean tied, int maxPositions,
            double ropeTheta, int vocab, boolean llama3Scaling) {
        public Shape(int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, int merges, boolean tied, int maxPositions,
                double ropeTheta) {
            this(hidden, intermediate, layers, heads, kvHeads, headDim, merges, tied, maxPositions, ropeTheta, 0, false);
        }

        /** Small enough for CI on a CPU, with head dim 64 so the GPU kernels (head dims 64 and 128) run it too. */
        public static Shape tiny() {
            return new Shape(128, 320, 2, 2, 1, 64, 200, true, 2048, 10000);
        }

        /** The layer shapes of a Llama-family catalog model (the vocabulary stays the small trained BPE). */
        public static Shape like(org.llmwb.core.catalog.ModelConfig m) {
            if (m.kvLoraRank() > 0 || m.numExperts() > 0 || !m.gatedMlp()) {
                throw new org.llmwb.core.InputException(m.name() + ": the engine runs Llama-family dense models (GQA attention, SwiGLU MLP)");
            }
            return new Shape(m.hiddenSize(), m.intermediateSize(), m.numLayers(), m.numHeads(), m.numKvHeads(), m.headDim(), 1000, m.tieEmbeddings(),
                    (int) Math.min(m.maxPositions(), 131072), m.ropeTheta());
        }

        /**
         * The catalog model's real shape: its layers, its full vocabulary (the embedding and LM head at their real
         * size) and, for Llama-3.1-style long-context models (theta 500,000, more than 8,192 positions), its RoPE
         * scaling.
         */
        public static Shape real(org.llmwb.core.catalog.ModelConfig m) {
            Shape s = like(m);
            boolean llama3 = m.ropeTheta() == 500000 && m.maxPositions() > 8192;
            return new Shape(s.hidden(), s.intermediate(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.merges(), s.tied(), s.maxPositions(),
                    s.ropeTheta(), (int) m.vocabSize(), llama3);
        }
    }

    private CheckpointGenerator() {
    }

    public static String corpus() {
        try (InputStream in = CheckpointGenerator.class.getResourceAsStream("/org/llmwb/engine/corpus.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("the bundled corpus is missing", e);
        }
    }

    /**
     * @param shards 1 for a single model.safetensors, more for shards with an index
     */
    public static Path generate(Path dir, Shape s, long seed, Safetensors.Dtype dtype, int shards) throws IOException {
        if (Files.exists(dir) && (!Files.isDirectory(dir) || Files.list(dir).findAny().isPresent())) {
            throw new org.llmwb.core.InputException(org.llmwb.core.SourceLocation.of(dir.toString()), "exists and is not an empty folder; nothing written");
        }
        if (s.heads() % s.kvHeads() != 0 || s.headDim() % 2 != 0) {
            throw new IllegalArgumentException("heads must be a multiple of kvHeads and headDim even");
        }
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".");
        try {
            String tok = BpeTokenizer.train(corpus(), s.merges(), List.of("<|begin_of_text|>", "<|end_of_text|>"));
            if (s.vocab() > 0) {
                tok = padVocabulary(tok, s.vocab());
            }
            Files.writeString(tmp.resolve("tokenizer.json"), tok);
            BpeTokenizer t = BpeTokenizer.load(tmp.resolve("tokenizer.json"));
            int vocab = t.vocabSize();
            ObjectNode c = Json.object();
            c.putArray("architectures").add("LlamaForCausalLM");
            c.put("model_type", "llama").put("hidden_size", s.hidden()).put("intermediate_size", s.intermediate())
                    .put("num_hidden_layers", s.layers()).put("num_attention_heads", s.heads()).put("num_key_value_heads", s.kvHeads())
                    .put("head_dim", s.headDim()).put("vocab_size", vocab).put("max_position_embeddings", s.maxPositions())
                    .put("rope_theta", s.ropeTheta()).put("rms_norm_eps", 1e-5).put("tie_word_embeddings", s.tied())
                    .put("torch_dtype", dtype == Safetensors.Dtype.BF16 ? "bfloat16" : dtype == Safetensors.Dtype.F16 ? "float16" : "float32")
                    .put("bos_token_id", t.specialId("<|begin_of_text|>")).put("eos_token_id", t.specialId("<|end_of_text|>"));
            if (s.llama3Scaling()) {
                c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 32.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                        .put("original_max_position_embeddings", 8192);
            }
            c
                    .put("_generated_by", "llmwb: seeded random weights (seed " + seed + "), not a trained model");
            Files.writeString(tmp.resolve("config.json"), Json.pretty(c));
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed); // its nextGaussian is several times faster than Random's
            int q = s.heads() * s.headDim();
            int kv = s.kvHeads() * s.headDim();
            SafetensorsWriter[] w = new SafetensorsWriter[shards];
            for (int i = 0; i < shards; i++) {
                w[i] = new SafetensorsWriter().metadata("format", "pt");
            }
            ObjectNode index = Json.object();
            ObjectNode map = index.putObject("weight_map");
            int[] counter = {0};
            java.util.function.BiConsumer<String, long[]> add = (name, shape) -> {
                long n = 1;
                for (long d : shape) {
                    n *= d;
                }
                float[] v = new float[(int) n];
                boolean norm = name.endsWith("norm.weight");
                for (int i = 0; i < v.length; i++) {
                    v[i] = norm ? (float) (1 + 0.1 * r.nextGaussian()) : (float) (0.02 * r.nextGaussian());
                }
                int shard = shards == 1 ? 0 : Math.min(shards - 1, counter[0]++ * shards / (4 + 9 * s.layers()));
                w[shard].add(name, dtype, v, shape);
                map.put(name, shardName(shard, shards));
            };
            add.accept("model.embed_tokens.weight", new long[] {vocab, s.hidden()});
            for (int l = 0; l < s.layers(); l++) {
                String p = "model.layers." + l + ".";
                add.accept(p + "input_layernorm.weight", new long[] {s.hidden()});
                add.accept(p + "self_attn.q_proj.weight", new long[] {q, s.hidden()});
                add.accept(p + "self_attn.k_proj.weight", new long[] {kv, s.hidden()});
                add.accept(p + "self_attn.v_proj.weight", new long[] {kv, s.hidden()});
                add.accept(p + "self_attn.o_proj.weight", new long[] {s.hidden(), q});
                add.accept(p + "post_attention_layernorm.weight", new long[] {s.hidden()});
                add.accept(p + "mlp.gate_proj.weight", new long[] {s.intermediate(), s.hidden()});
                add.accept(p + "mlp.up_proj.weight", new long[] {s.intermediate(), s.hidden()});
                add.accept(p + "mlp.down_proj.weight", new long[] {s.hidden(), s.intermediate()});
            }
            add.accept("model.norm.weight", new long[] {s.hidden()});
            if (!s.tied()) {
                add.accept("lm_head.weight", new long[] {vocab, s.hidden()});
            }
            for (int i = 0; i < shards; i++) {
                w[i].write(tmp.resolve(shardName(i, shards)));
            }
            if (shards > 1) {
                Files.writeString(tmp.resolve("model.safetensors.index.json"), Json.pretty(index));
            }
            Files.deleteIfExists(dir);
            Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } finally {
            if (Files.exists(tmp)) {
                try (var st = Files.walk(tmp)) {
                    st.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /** Adds reserved special tokens to a trained tokenizer.json until its vocabulary has {@code vocab} ids. */
    static String padVocabulary(String tokenizerJson, int vocab) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode root = (com.fasterxml.jackson.databind.node.ObjectNode) Json.parse(tokenizerJson);
        int used = root.path("model").path("vocab").size();
        for (var a : root.path("added_tokens")) {
            used = Math.max(used, a.path("id").asInt() + 1);
        }
        if (vocab < used) {
            throw new IllegalArgumentException("vocabulary of " + vocab + " is smaller than the trained tokenizer's " + used);
        }
        var added = (com.fasterxml.jackson.databind.node.ArrayNode) root.get("added_tokens");
        for (int id = used; id < vocab; id++) {
            added.addObject().put("id", id).put("content", "<|reserved_special_token_" + (id - used) + "|>").put("special", true);
        }
        return Json.pretty(root);
    }

    static String shardName(int i, int shards) {
        return shards == 1 ? "model.safetensors" : String.format("model-%05d-of-%05d.safetensors", i + 1, shards);
    }
}
