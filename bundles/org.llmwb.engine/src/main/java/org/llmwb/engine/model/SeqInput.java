package org.llmwb.engine.model;

/**
 * One sequence in a step: its new tokens, how many tokens it already has in the cache, its block table (covering
 * past + new), and how many of its last new tokens need logits (1 for prefill and decode; 1 + drafts for a
 * speculative verify step).
 */
public record SeqInput(int[] tokens, int past, int[] blockTable, int logits) {
    public SeqInput {
        if (logits < 1 || logits > tokens.length) {
            throw new IllegalArgumentException("logits for " + logits + " of " + tokens.length + " new tokens");
        }
    }

    public SeqInput(int[] tokens, int past, int[] blockTable) {
        this(tokens, past, blockTable, 1);
    }
}
