package org.llmwb.engine.sim;

import java.util.Locale;

/**
 * Picks the replica a request goes to, from what a router in front of real engines can know: the requests it sent
 * each replica and not yet seen finish, and (KV-aware) which prompt blocks it sent each replica before.
 */
public enum Router {
    /** Replicas in turn. */
    ROUND_ROBIN,
    /** The replica with the fewest requests in flight (ties: the lowest index). */
    LEAST_OUTSTANDING,
    /**
     * Dynamo-style cost: prompt blocks the replica would have to prefill (not already sent there as a prefix) times
     * the overlap weight, plus the blocks its requests in flight hold; the lowest cost wins.
     */
    KV_AWARE;

    public static Router parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "round-robin", "rr" -> ROUND_ROBIN;
            case "least-outstanding", "least-loaded", "lor" -> LEAST_OUTSTANDING;
            case "kv-aware", "kv" -> KV_AWARE;
            default -> throw new IllegalArgumentException("router '" + s + "' is not one of round-robin, least-outstanding, kv-aware");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
