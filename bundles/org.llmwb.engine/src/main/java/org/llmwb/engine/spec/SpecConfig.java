package org.llmwb.engine.spec;

import java.util.Locale;

/**
 * Speculative decoding settings.
 *
 * @param method none, ngram (prompt lookup), layer-skip (self-speculation by early exit) or draft-model
 * @param k drafts per verify step (the most, when adaptive)
 * @param adaptive per sequence: one more draft after a fully accepted step, back to accepted + 1 after a rejection
 * @param ngramMin shortest suffix the n-gram drafter looks up
 * @param ngramMax longest suffix the n-gram drafter looks up
 * @param exitLayers layers the early-exit draft runs (0: half of the target's)
 * @param draftModel the draft model (checkpoint folder, 'tiny' or a catalog shape) for draft-model
 */
public record SpecConfig(Method method, int k, boolean adaptive, int ngramMin, int ngramMax, int exitLayers, String draftModel) {
    public enum Method {
        NONE, NGRAM, LAYER_SKIP, DRAFT_MODEL;

        public String id() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Method parse(String s) {
            for (Method m : values()) {
                if (m.id().equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            throw new IllegalArgumentException("speculative method '" + s + "' is not one of none, ngram, layer-skip, draft-model");
        }
    }

    public static final SpecConfig OFF = new SpecConfig(Method.NONE, 0, false, 1, 3, 0, null);

    public SpecConfig {
        if (method != Method.NONE && (k < 1 || k > 16)) {
            throw new IllegalArgumentException("speculative k must be 1..16, got " + k);
        }
        if (method == Method.DRAFT_MODEL && (draftModel == null || draftModel.isBlank())) {
            throw new IllegalArgumentException("speculative method draft-model needs a draftModel");
        }
    }

    public static SpecConfig ngram(int k) {
        return new SpecConfig(Method.NGRAM, k, false, 1, 3, 0, null);
    }

    public boolean on() {
        return method != Method.NONE;
    }
}
