package org.llmwb.core.engineview;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One engine step as the runner's {@code engine-step} event (or a line of {@code steps-N.jsonl})
 * describes it: what each sequence did, and the KV pool after the step. Parsed once, read by the
 * KV Cache view, the Batching Timeline and the Chrome-trace export.
 *
 * @param blocks per-block state (holders ≥ 1, 0 free, -1 cached-free, -2 reserved-empty), or null when the pool was too large to send
 * @param pool the worker that ran the step when several engines served the run ("prefill-0", "decode-0", "aggregated-1"), else null
 * @param drafted speculative drafts this step verified (0 without speculation)
 * @param accepted of those, the ones kept
 */
public record EngineStep(int point, int index, double t, double seconds, List<Part> parts, List<Integer> finished, List<Integer> preempted,
        int waiting, int running, int totalBlocks, int usedBlocks, int cachedFreeBlocks, long allocatedBytes, long usedBytes, int[] blocks,
        Map<Integer, int[]> tables, String pool, int drafted, int accepted) {

    public static final int FREE = 0;
    public static final int CACHED_FREE = -1;
    public static final int RESERVED_EMPTY = -2;

    /** Tokens [start, start + count) of a sequence, prefilled or decoded. */
    public record Part(int seq, int start, int count, boolean decode) {
    }

    /** From an {@code engine-step} event's {@code step} object (and the sweep point it belongs to). */
    public static EngineStep of(int point, JsonNode s) {
        List<Part> parts = new ArrayList<>();
        for (JsonNode p : s.path("parts")) {
            parts.add(new Part(p.path("seq").asInt(), p.path("start").asInt(), p.path("count").asInt(), "decode".equals(p.path("kind").asText())));
        }
        JsonNode kv = s.path("kv");
        int[] blocks = null;
        Map<Integer, int[]> tables = new TreeMap<>();
        if (kv.has("blocks")) {
            blocks = ints(kv.get("blocks"));
            for (Iterator<Map.Entry<String, JsonNode>> it = kv.path("tables").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                tables.put(Integer.parseInt(e.getKey()), ints(e.getValue()));
            }
        }
        return new EngineStep(point, s.path("step").asInt(), s.path("t").asDouble(), s.path("seconds").asDouble(), List.copyOf(parts),
                List.of(box(ints(s.path("finished")))), List.of(box(ints(s.path("preempted")))), s.path("waiting").asInt(), s.path("running").asInt(),
                kv.path("totalBlocks").asInt(), kv.path("usedBlocks").asInt(), kv.path("cachedFreeBlocks").asInt(), kv.path("allocatedBytes").asLong(),
                kv.path("usedBytes").asLong(), blocks, tables, s.hasNonNull("pool") ? s.get("pool").asText() : null, s.path("spec").path("drafted").asInt(),
                s.path("spec").path("accepted").asInt());
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    private static Integer[] box(int[] v) {
        Integer[] b = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = v[i];
        }
        return b;
    }

    public int prefillTokens() {
        return parts.stream().filter(p -> !p.decode()).mapToInt(Part::count).sum();
    }

    public int decodeTokens() {
        return (int) parts.stream().filter(Part::decode).count();
    }

    /** Blocks held by more than one sequence (shared prefix blocks). */
    public int sharedBlocks() {
        if (blocks == null) {
            return 0;
        }
        int n = 0;
        for (int b : blocks) {
            if (b >= 2) {
                n++;
            }
        }
        return n;
    }
}
