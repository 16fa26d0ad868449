package org.llmwb.engine.sched;

import java.util.Locale;

/**
 * The scheduler's knobs.
 *
 * @param batching STATIC: a batch is formed when the previous one has fully finished and runs to its end;
 *                 DYNAMIC: the same, but a batch waits until it is full or its oldest request has waited
 *                 {@code batchWindowS}; CONTINUOUS: sequences join and leave at every step
 * @param order which waiting request goes first: FCFS (arrival), SHORTEST (fewest prompt tokens), PRIORITY (lowest value)
 * @param chunkedPrefill split prompts into chunks that share steps with decodes; without it a step either
 *                       prefills whole prompts or decodes
 * @param maxBatchedTokens tokens one step may process (the chunked-prefill budget)
 * @param maxSeqs sequences in flight at most
 * @param batchWindowS the dynamic batching window
 */
public record SchedulerConfig(Batching batching, Order order, boolean chunkedPrefill, int maxBatchedTokens, int maxSeqs, double batchWindowS) {
    public enum Batching { STATIC, DYNAMIC, CONTINUOUS }

    public enum Order { FCFS, SHORTEST, PRIORITY }

    public SchedulerConfig {
        if (maxBatchedTokens < 1 || maxSeqs < 1) {
            throw new IllegalArgumentException("max batched tokens and max sequences must be >= 1");
        }
        if (batchWindowS < 0) {
            throw new IllegalArgumentException("the batch window must be >= 0");
        }
    }

    public static SchedulerConfig continuous(int maxBatchedTokens, int maxSeqs) {
        return new SchedulerConfig(Batching.CONTINUOUS, Order.FCFS, true, maxBatchedTokens, maxSeqs, 0);
    }

    public static <E extends Enum<E>> E parse(Class<E> type, String s) {
        try {
            return Enum.valueOf(type, s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown " + type.getSimpleName().toLowerCase(Locale.ROOT) + " '" + s + "'");
        }
    }
}
