package org.llmwb.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.catalog.HfConfigReader;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.result.Json;
import org.llmwb.core.yaml.YNode;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A Hugging Face checkpoint folder: {@code config.json}, the weights in {@code model.safetensors} or in shards
 * listed by {@code model.safetensors.index.json} (its {@code weight_map}), and {@code tokenizer.json}. Shards are
 * memory-mapped as needed; a tensor is looked up in the shard the index names.
 */
public final class Checkpoint implements AutoCloseable {
    /** What the forward pass needs beyond the shape: norm epsilon and RoPE (theta, Llama-3 scaling). */
    public record Numerics(double rmsEps, double ropeTheta, double ropeFactor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions,
            boolean qkvBias, boolean qkNorm, int slidingWindow) {
    }

    private final Path dir;
    private final ModelConfig config;
    private final Numerics numerics;
    private final Map<String, Path> weightMap = new LinkedHashMap<>();
    private final Map<Path, Safetensors> open = new LinkedHashMap<>();

    private Checkpoint(Path dir, ModelConfig config, Numerics numerics) {
        this.dir = dir;
        this.config = config;
        this.numerics = numerics;
    }

    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InputException(SourceLocation.of(dir.toString()), "not a checkpoint folder (expected config.json, *.safetensors and tokenizer.json)");
        }
        Path cfg = dir.resolve("config.json");
        ModelConfig mc = HfConfigReader.read(cfg);
        if (mc.kvLoraRank() > 0 || mc.numExperts() > 0 || !mc.gatedMlp()) {
            throw new InputException(SourceLocation.of(cfg.toString()), "the engine runs Llama-family dense models (GQA attention, SwiGLU MLP); "
                    + mc.modelType() + " with MLA, MoE or a plain MLP is not supported");
        }
        YNode c = YNode.read(cfg);
        // what the forward pass does not implement is refused here, never computed differently (a silent mismatch)
        if ("mixtral".equals(mc.modelType())) {
            throw new InputException(c.get("model_type").location(), "mixtral (mixture of experts) is not supported by the engine");
        }
        // Mistral-7B-v0.1 and Qwen2 configs carry a window; attention is exactly full attention while the context fits
        // in it, so the engine limits its context to the window (below) instead of implementing the sliding mask
        int window = 0;
        if (c.has("sliding_window") && !c.get("sliding_window").isNull() && (!c.has("use_sliding_window") || c.get("use_sliding_window").asBoolean())) {
            long w = c.get("sliding_window").asLong();
            if (w < 1) {
                throw new InputException(c.get("sliding_window").location(), "sliding_window must be a positive number of tokens but is " + c.get("sliding_window").text());
            }
            window = (int) Math.min(Integer.MAX_VALUE, w);
        }
        if (c.has("mlp_bias") && c.get("mlp_bias").asBoolean()) {
            throw new InputException(c.get("mlp_bias").location(), "MLP biases are not supported by the engine");
        }
        if (c.has("hidden_act") && !c.get("hidden_act").isNull() && !java.util.Set.of("silu", "swish").contains(c.get("hidden_act").text())) {
            throw new InputException(c.get("hidden_act").location(), "hidden_act '" + c.get("hidden_act").text() + "' is not supported (the engine's MLP is SwiGLU: silu)");
        }
        double eps = 1e-5;
        if (c.has("rms_norm_eps") && !c.get("rms_norm_eps").isNull()) {
            eps = c.get("rms_norm_eps").asDouble();
            if (!(eps > 0 && eps < 1)) {
                throw new InputException(c.get("rms_norm_eps").location(), "rms_norm_eps must be in (0, 1) but is " + c.get("rms_norm_eps").text());
            }
        }
        double factor = 0;
        double low = 1;
        double high = 4;
        int orig = 8192;
        YNode rs = HfConfigReader.ropeScaling(c);
        if (rs != null) {
            YNode typeNode = rs.has("rope_type") ? rs.get("rope_type") : rs.get("type");
            if (!typeNode.text().equals("llama3")) {
                throw new InputException(typeNode.location(), "RoPE scaling type '" + typeNode.text() + "' is not supported (default and llama3 are)");
            }
            factor = positiveField(rs, "factor", null);
            low = positiveField(rs, "low_freq_factor", 1.0);
            high = positiveField(rs, "high_freq_factor", 4.0);
            orig = (int) positiveField(rs, "original_max_position_embeddings", 8192.0);
            if (!(high > low)) {
                throw new InputException(rs.location(), "llama3 RoPE scaling needs high_freq_factor (" + high + ") above low_freq_factor (" + low + ")");
            }
        }
        boolean qkNorm = "qwen3".equals(mc.modelType());
        if (window > 0 && window < mc.maxPositions()) {
            // within the window sliding attention is full attention; beyond it the engine would differ, so it stops there
            mc = mc.withMaxPositions(window);
        }
        Checkpoint ck = new Checkpoint(dir, mc, new Numerics(eps, mc.ropeTheta(), factor, low, high, orig, mc.qkvBias(), qkNorm, window));
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode root;
            try {
                root = Json.parse(Files.readString(index));
            } catch (IOException e) {
                throw new InputException(SourceLocation.of(index.toString()), "not a valid index: " + e.getMessage().lines().findFirst().orElse(""));
            }
            JsonNode wm = root.path("weight_map");
            if (!wm.isObject() || wm.isEmpty()) {
                throw new InputException(SourceLocation.of(index.toString()), "missing 'weight_map'");
            }
            wm.fields().forEachRemaining(f -> {
                Path shard = dir.resolve(f.getValue().asText()).normalize();
                if (!shard.startsWith(dir.normalize()) || !Files.isRegularFile(shard)) {
                    throw new InputException(SourceLocation.of(index.toString()), "tensor '" + f.getKey() + "' is mapped to shard '" + f.getValue().asText()
                            + "', which is not a file in the checkpoint folder");
                }
                ck.weightMap.put(f.getKey(), shard);
            });
        } else if (Files.isRegularFile(single)) {
            try (Safetensors s = Safetensors.open(single)) {
                s.entries().keySet().forEach(k -> ck.weightMap.put(k, single));
            }
        } else {
            throw new InputException(SourceLocation.of(dir.toString()), "no model.safetensors or model.safetensors.index.json");
        }
        ck.checkTensorNames();
        return ck;
    }

    /**
     * Every tensor of the checkpoint must be one the forward pass reads (or a RoPE buffer older exports carry): a
     * tensor it would ignore — a bias, a q/k norm, an extra head — means the model computes something else.
     */
    private void checkTensorNames() {
        java.util.Set<String> known = new java.util.HashSet<>(java.util.List.of("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"));
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            for (String t : java.util.List.of("input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                    "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                known.add(p + t + ".weight");
            }
            if (numerics.qkvBias()) {
                // Qwen2 has q/k/v biases; Llama's attention_bias also puts one on o_proj
                for (String t : java.util.List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj")) {
                    known.add(p + t + ".bias");
                }
            }
            if (numerics.qkNorm()) {
                known.add(p + "self_attn.q_norm.weight");
                known.add(p + "self_attn.k_norm.weight");
            }
        }
        java.util.List<String> missing = new java.util.ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".self_attn.";
            java.util.List<String> need = new java.util.ArrayList<>();
            if (numerics.qkvBias()) {
                need.addAll(java.util.List.of(p + "q_proj.bias", p + "k_proj.bias", p + "v_proj.bias"));
            }
            if (numerics.qkNorm()) {
                need.addAll(java.util.List.of(p + "q_norm.weight", p + "k_norm.weight"));
            }
            need.stream().filter(k -> !weightMap.containsKey(k)).forEach(missing::add);
        }
        if (!missing.isEmpty()) {
            throw new InputException(SourceLocation.of(dir.resolve("config.json").toString()), config.modelType() + (numerics.qkNorm() ? " has per-head q/k norms" : " has attention biases")
                    + " but the checkpoint lacks " + missing.size() + " of their tensors: " + String.join(", ", missing.subList(0, Math.min(3, missing.size())))
                    + (missing.size() > 3 ? ", ..." : ""));
        }
        java.util.List<String> extra = weightMap.keySet().stream().filter(k -> !known.contains(k) && !k.endsWith("rotary_emb.inv_freq")).sorted().toList();
        if (!extra.isEmpty()) {
            throw new InputException(SourceLocation.of(dir.toString()), extra.size() + " tensor(s) the engine's Llama forward pass does not use, so it would compute a different model: "
                    + String.join(", ", extra.subList(0, Math.min(5, extra.size()))) + (extra.size() > 5 ? ", ..." : ""));
        }
    }

    /** A positive number field of the RoPE scaling block, or the default (null: required). */
    private static double positiveField(YNode block, String key, Double dflt) {
        YNode n = block.get(key);
        if (n == null || n.isNull()) {
            if (dflt == null) {
                throw new InputException(block.location(), "llama3 RoPE scaling needs '" + key + "'");
            }
            return dflt;
        }
        double v = n.asDouble();
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new InputException(n.location(), "'" + key + "' must be a positive number but is " + n.text());
        }
        return v;
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public Numerics numerics() {
        return numerics;
    }

    public boolean has(String tensor) {
        return weightMap.containsKey(tensor);
    }

    /** A tensor as floats with its expected shape checked. */
    public float[] floats(String tensor, long... shape) {
        Path shard = weightMap.get(tensor);
        if (shard == null) {
            throw new InputException(SourceLocation.of(dir.toString()), "missing tensor '" + tensor + "'");
        }
        return open.computeIfAbsent(shard, Safetensors::open).floats(tensor, shape);
    }

    public Path tokenizerFile() {
        return dir.resolve("tokenizer.json");
    }

    @Override
    public void close() {
        open.values().forEach(Safetensors::close);
        open.clear();
    }
}
