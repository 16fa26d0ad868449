package org.llmwb.engine.kv;

import java.util.ArrayList;
import java.util.List;

/** A sequence as a KV manager sees it: its tokens (prompt and generated) and its block table. No tensors. */
public final class KvSeq {
    final List<Integer> tokens = new ArrayList<>();
    final List<Integer> table = new ArrayList<>();
    int cachedTokens;

    public KvSeq(List<Integer> prompt) {
        tokens.addAll(prompt);
    }

    public int length() {
        return tokens.size();
    }

    public int token(int i) {
        return tokens.get(i);
    }

    /** Tokens {@code [from, to)} as an array. */
    public int[] tokens(int from, int to) {
        int[] out = new int[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = tokens.get(i);
        }
        return out;
    }

    /** Tokens whose KV came from the prefix cache at allocation (they need no prefill). */
    public int cachedTokens() {
        return cachedTokens;
    }

    public int[] blockTable() {
        int[] t = new int[table.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = table.get(i);
        }
        return t;
    }

    public int blocks() {
        return table.size();
    }

    public void append(int token) {
        tokens.add(token);
    }
}
