package org.llmwb.engine.model;

/** One sequence in a step: its new tokens, how many tokens it already has in the cache, and its block table (covering past + new). */
public record SeqInput(int[] tokens, int past, int[] blockTable) {
}
