package org.llmwb.engine.run;

/**
 * One request of a workload: when it arrives (seconds from the start of the run), its prompt tokens, how many
 * tokens it asks for, and its priority (lower runs first under the priority order).
 */
public record Request(int index, double arrival, int[] prompt, int maxTokens, int priority) {
}
