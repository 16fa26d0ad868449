package org.llmwb.engine;

import java.util.List;

import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What one engine step did: which sequences prefilled which chunk and which decoded, who finished or was
 * preempted, and the KV pool after it. The workbench's batching timeline and KV views draw these.
 *
 * @param start engine clock at the start of the step (seconds)
 * @param seconds measured duration of the step (schedule, forward, sampling)
 */
public record StepEvent(int index, double start, double seconds, List<Part> parts, List<Integer> finished, List<Integer> preempted, int waiting,
        int running, Kv kv, Spec spec, String pool) {

    public StepEvent(int index, double start, double seconds, List<Part> parts, List<Integer> finished, List<Integer> preempted, int waiting, int running,
            Kv kv) {
        this(index, start, seconds, parts, finished, preempted, waiting, running, kv, null, null);
    }

    public StepEvent(int index, double start, double seconds, List<Part> parts, List<Integer> finished, List<Integer> preempted, int waiting, int running,
            Kv kv, Spec spec) {
        this(index, start, seconds, parts, finished, preempted, waiting, running, kv, spec, null);
    }

    /** The same step, labelled with the worker (pool) that ran it when several engines serve a run ("prefill-0", "decode-0", "aggregated-1"). */
    public StepEvent withPool(String p) {
        return new StepEvent(index, start, seconds, parts, finished, preempted, waiting, running, kv, spec, p);
    }

    /**
     * The step's speculative verifications: per sequence, drafts verified and drafts accepted; the time the
     * drafter took before the forward and the verify forward itself (seconds).
     */
    public record Spec(List<Integer> seqs, int[] drafted, int[] accepted, double draftSeconds, double verifySeconds) {
        public int totalDrafted() {
            return java.util.Arrays.stream(drafted).sum();
        }

        public int totalAccepted() {
            return java.util.Arrays.stream(accepted).sum();
        }
    }

    /** One sequence's share of the step: tokens [start, start + count) of sequence {@code seq}. */
    public record Part(int seq, int start, int count, boolean decode) {
    }

    /**
     * The pool after the step: blocks used, free ones still holding a cached prefix, allocated vs used
     * bytes, and (for pools of at most {@link #MAP_LIMIT} blocks) the block map and each running
     * sequence's block table.
     *
     * @param blocks per block: holders (≥ 1), or FREE / CACHED_FREE / RESERVED_EMPTY (see KvCacheManager); null past the limit
     *        or when the engine does not record block maps (LlmEngine.recordBlockMaps)
     * @param tables running sequence id → its block table (blocks holding its tokens); null past the limit
     */
    public record Kv(int totalBlocks, int usedBlocks, int cachedFreeBlocks, long allocatedBytes, long usedBytes, int[] blocks,
            java.util.Map<Integer, int[]> tables) {
    }

    /** Block maps ride along with each step event only up to this pool size (they are one int per block). */
    public static final int MAP_LIMIT = 4096;

    public int prefillTokens() {
        return parts.stream().filter(p -> !p.decode()).mapToInt(Part::count).sum();
    }

    public int decodeTokens() {
        return (int) parts.stream().filter(Part::decode).count();
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("step", index).put("t", start).put("seconds", seconds).put("prefillTokens", prefillTokens()).put("decodeTokens", decodeTokens())
                .put("waiting", waiting).put("running", running);
        if (pool != null) {
            o.put("pool", pool);
        }
        ArrayNode a = o.putArray("parts");
        for (Part p : parts) {
            a.addObject().put("seq", p.seq()).put("start", p.start()).put("count", p.count()).put("kind", p.decode() ? "decode" : "prefill");
        }
        ArrayNode f = o.putArray("finished");
        finished.forEach(f::add);
        ArrayNode pr = o.putArray("preempted");
        preempted.forEach(pr::add);
        if (spec != null) {
            ObjectNode sp = o.putObject("spec").put("drafted", spec.totalDrafted()).put("accepted", spec.totalAccepted())
                    .put("draftSeconds", spec.draftSeconds()).put("verifySeconds", spec.verifySeconds());
            ArrayNode per = sp.putArray("perSeq");
            for (int i = 0; i < spec.seqs().size(); i++) {
                per.addObject().put("seq", spec.seqs().get(i)).put("drafted", spec.drafted()[i]).put("accepted", spec.accepted()[i]);
            }
        }
        ObjectNode k = o.putObject("kv").put("totalBlocks", kv.totalBlocks()).put("usedBlocks", kv.usedBlocks())
                .put("cachedFreeBlocks", kv.cachedFreeBlocks()).put("allocatedBytes", kv.allocatedBytes()).put("usedBytes", kv.usedBytes());
        if (kv.blocks() != null) {
            ArrayNode b = k.putArray("blocks");
            for (int v : kv.blocks()) {
                b.add(v);
            }
            ObjectNode t = k.putObject("tables");
            kv.tables().forEach((seq, table) -> {
                ArrayNode a2 = t.putArray(Integer.toString(seq));
                for (int v : table) {
                    a2.add(v);
                }
            });
        }
        return o;
    }
}
