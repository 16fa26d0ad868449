package org.llmwb.engine.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.llmwb.core.InputException;
import org.llmwb.engine.run.Request;

/**
 * A multi-turn chat workload: users arrive as a Poisson process; each sends {@code turns} requests, the next one
 * {@code thinkS} (exponential, that mean) after the previous one was sent. Turn k's prompt is a system prompt shared
 * by every user, then the user's whole history — each earlier turn's message and a reply of {@code outputTokens}
 * tokens — then the new message; so a replica that served turn k − 1 holds most of turn k's prompt in its prefix
 * cache, the reuse KV-aware routing exists for. (Replies are fixed synthetic tokens, not what the engine generated:
 * the prefix a replica can reuse is the previous prompt, as with a server that does not cache generated tokens.)
 */
public final class Sessions {
    private Sessions() {
    }

    public static List<Request> generate(int users, int turns, double usersPerS, double thinkS, int systemTokens, int userTokens, int outputTokens,
            long seed, int vocab) {
        if (users < 1 || turns < 1 || !(usersPerS > 0) || thinkS < 0 || systemTokens < 0 || userTokens < 1 || outputTokens < 1 || vocab < 2) {
            throw new InputException("sessions need users, turns, a user rate > 0, think time >= 0, message and reply lengths >= 1");
        }
        SplittableRandom r = new SplittableRandom(seed);
        int[] system = tokens(r, systemTokens, vocab);
        List<Request> out = new ArrayList<>();
        double start = 0;
        for (int u = 0; u < users; u++) {
            start += -Math.log(1 - r.nextDouble()) / usersPerS;
            double t = start;
            int[] history = system;
            for (int k = 0; k < turns; k++) {
                int[] prompt = concat(history, tokens(r, userTokens, vocab));
                out.add(new Request(out.size(), t, prompt, outputTokens, 0));
                history = concat(prompt, tokens(r, outputTokens, vocab));
                t += thinkS > 0 ? -Math.log(1 - r.nextDouble()) * thinkS : 0;
            }
        }
        out.sort(java.util.Comparator.comparingDouble(Request::arrival));
        List<Request> renumbered = new ArrayList<>(out.size());
        for (Request q : out) {
            renumbered.add(new Request(renumbered.size(), q.arrival(), q.prompt(), q.maxTokens(), q.priority()));
        }
        return renumbered;
    }

    private static int[] tokens(SplittableRandom r, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1 + r.nextInt(vocab - 1);
        }
        return t;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
