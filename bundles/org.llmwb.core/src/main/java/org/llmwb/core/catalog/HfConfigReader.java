package org.llmwb.core.catalog;

import java.nio.file.Path;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.yaml.YNode;

/**
 * Reads a Hugging Face {@code config.json} into a {@link ModelConfig}. Accepts the field names of
 * the Llama, Mistral, Mixtral, Qwen2, Falcon and DeepSeek-V2/V3 configurations (and their older
 * aliases such as Falcon's {@code n_head}); any error names the file, line and column.
 */
public final class HfConfigReader {
    /** model_type values whose layers are Llama-like (RMSNorm, RoPE, GQA, SwiGLU). */
    private static final Set<String> LLAMA_LIKE = Set.of("llama", "mistral", "mixtral", "qwen2", "qwen3");
    private static final Set<String> FALCON = Set.of("falcon", "RefinedWebModel", "RefinedWeb");
    private static final Set<String> DEEPSEEK = Set.of("deepseek_v2", "deepseek_v3");

    private HfConfigReader() {
    }

    public static ModelConfig read(Path configJson) {
        return read(YNode.read(configJson), configJson.toString(), null);
    }

    /**
     * @param name display name (null: derive from the source)
     * @param hfId Hugging Face repository id to put in exported engine flags (may be null)
     */
    public static ModelConfig read(YNode c, String name, String hfId) {
        if (!c.isMap()) {
            throw new InputException(c.location(), "a config.json must be a JSON object");
        }
        YNode typeNode = c.get("model_type");
        if (typeNode == null) {
            throw new InputException(c.location(), "missing 'model_type' (is this a Hugging Face config.json?)");
        }
        String type = typeNode.text();
        boolean falcon = FALCON.contains(type);
        boolean deepseek = DEEPSEEK.contains(type);
        if (!LLAMA_LIKE.contains(type) && !falcon && !deepseek) {
            throw new InputException(typeNode.location(), "unsupported model_type '" + type
                    + "'; supported: llama, mistral, mixtral, qwen2, qwen3, falcon, deepseek_v2, deepseek_v3");
        }
        int hidden = positive(c, "hidden_size", "d_model", "n_embd");
        int layers = positive(c, "num_hidden_layers", "n_layer");
        YNode headsNode = first(c, "num_attention_heads", "n_head");
        int heads = positive(c, "num_attention_heads", "n_head");
        int kvHeads;
        if (falcon) {
            boolean newArch = bool(c, "new_decoder_architecture", false);
            kvHeads = newArch ? optInt(c, heads, "num_kv_heads") : bool(c, "multi_query", true) ? 1 : heads;
        } else {
            kvHeads = optInt(c, heads, "num_key_value_heads");
        }
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new InputException(first(c, "num_key_value_heads", "num_kv_heads").location(),
                    "num_key_value_heads (" + kvHeads + ") must divide num_attention_heads (" + heads + ")");
        }
        int kvLora = deepseek ? positive(c, "kv_lora_rank") : 0;
        int headDim;
        if (deepseek) {
            headDim = positive(c, "v_head_dim");
        } else if (c.has("head_dim") && !c.get("head_dim").isNull()) {
            headDim = positive(c, "head_dim");
        } else {
            if (hidden % heads != 0) {
                throw new InputException(headsNode.location(), "hidden_size " + hidden + " is not divisible by "
                        + heads + " attention heads and no head_dim is given");
            }
            headDim = hidden / heads;
        }
        int vocab = positive(c, "vocab_size");
        int inter = falcon ? optInt(c, 4 * hidden, "ffn_hidden_size", "intermediate_size") : positive(c, "intermediate_size", "ffn_hidden_size");
        boolean tie = bool(c, "tie_word_embeddings", falcon);
        long maxPos = c.has("max_position_embeddings") ? c.get("max_position_embeddings").asLong() : 2048;
        double theta = ropeTheta(c);
        int experts = optInt(c, 0, "num_local_experts", "n_routed_experts", "num_experts");
        int topK = experts > 0 ? positive(c, "num_experts_per_tok") : 0;
        int moeInter = experts > 0 ? optInt(c, inter, "moe_intermediate_size") : 0;
        int shared = experts > 0 ? optInt(c, 0, "n_shared_experts") : 0;
        int firstDense = experts > 0 ? optInt(c, 0, "first_k_dense_replace") : 0;
        if (firstDense > layers) {
            throw new InputException(c.get("first_k_dense_replace").location(), "first_k_dense_replace exceeds num_hidden_layers");
        }
        int qLora = deepseek && c.has("q_lora_rank") && !c.get("q_lora_rank").isNull() ? c.get("q_lora_rank").asInt() : 0;
        int nope = deepseek ? positive(c, "qk_nope_head_dim") : 0;
        int rope = deepseek ? positive(c, "qk_rope_head_dim") : 0;
        int vHead = deepseek ? headDim : 0;
        boolean qkvBias = "qwen2".equals(type) || bool(c, "attention_bias", false) || (falcon && bool(c, "bias", false));
        boolean normBias = falcon;
        int norms = falcon && bool(c, "parallel_attn", true) && !bool(c, "new_decoder_architecture", false) ? 1 : 2;
        String display = name != null ? name : c.source();
        return new ModelConfig(display, type, hfId, hidden, inter, layers, heads, kvHeads, headDim, vocab, tie, maxPos, theta,
                !falcon, qkvBias, normBias, norms, experts, topK, moeInter, shared, firstDense, qLora, kvLora, nope, rope, vHead);
    }

    /**
     * RoPE's base: {@code rope_theta} at the top level (transformers 4.x and most published configs) or inside
     * {@code rope_parameters} (the form transformers 5 writes, where the top-level key is gone); 10,000 when neither
     * is given, as transformers assumes.
     */
    public static double ropeTheta(YNode c) {
        YNode n = c.get("rope_theta");
        YNode rp = c.get("rope_parameters");
        if ((n == null || n.isNull()) && rp != null && rp.isMap()) {
            n = rp.get("rope_theta");
        }
        if (n == null || n.isNull()) {
            return 10000;
        }
        double theta = n.asDouble();
        if (!(theta > 1) || Double.isInfinite(theta)) {
            throw new InputException(n.location(), "rope_theta must be a finite number above 1 but is " + n.text());
        }
        return theta;
    }

    /**
     * The RoPE scaling block: {@code rope_scaling} (older configs) or {@code rope_parameters} (transformers 5), or
     * null when there is none or its type is "default" (plain RoPE).
     */
    public static YNode ropeScaling(YNode c) {
        YNode rs = c.get("rope_scaling");
        if (rs == null || rs.isNull()) {
            rs = c.get("rope_parameters");
        }
        if (rs == null || rs.isNull()) {
            return null;
        }
        if (!rs.isMap()) {
            throw new InputException(rs.location(), "RoPE scaling must be an object with a rope_type, not " + rs.kindName());
        }
        YNode type = rs.has("rope_type") ? rs.get("rope_type") : rs.get("type");
        if (type == null || type.isNull()) {
            if (rs.has("rope_theta") && rs.entries().size() == 1) {
                return null; // rope_parameters holding only the base
            }
            throw new InputException(rs.location(), "RoPE scaling without a rope_type (or type)");
        }
        return "default".equals(type.text()) ? null : rs;
    }

    private static YNode first(YNode c, String... keys) {
        for (String k : keys) {
            if (c.has(k) && !c.get(k).isNull()) {
                return c.get(k);
            }
        }
        return c;
    }

    private static int positive(YNode c, String... keys) {
        YNode n = first(c, keys);
        if (n == c) {
            throw new InputException(c.location(), "missing required field '" + keys[0] + "'");
        }
        int v = n.asInt();
        if (v <= 0) {
            throw new InputException(n.location(), "'" + keys[0] + "' must be > 0 but is " + v);
        }
        return v;
    }

    private static int optInt(YNode c, int dflt, String... keys) {
        YNode n = first(c, keys);
        if (n == c) {
            return dflt;
        }
        int v = n.asInt();
        if (v < 0) {
            throw new InputException(n.location(), "must be >= 0 but is " + v);
        }
        return v;
    }

    private static boolean bool(YNode c, String key, boolean dflt) {
        return c.has(key) && !c.get(key).isNull() ? c.get(key).asBoolean() : dflt;
    }
}
