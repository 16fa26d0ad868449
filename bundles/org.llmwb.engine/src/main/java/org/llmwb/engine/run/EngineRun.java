package org.llmwb.engine.run;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Sequence;

/**
 * Replays a workload on an engine in real time: each request is added when the wall clock reaches its
 * arrival, the engine steps while it has work, and the driver sleeps when it has none. Every figure is a
 * measured wall-clock time.
 */
public final class EngineRun {
    /** Streams what happens (called on the run's thread). */
    public interface Listener {
        default void step(StepEvent e) {
        }

        default void finished(RequestMetrics r) {
        }
    }

    public record Result(List<RequestMetrics> requests, RunMetrics metrics, int steps, long peakKvAllocatedBytes, double kvWasteFraction,
            double prefixHitRate, int preemptions, boolean cancelled, List<StepEvent> stepEvents) {
    }

    private EngineRun() {
    }

    /**
     * @param sampling per-request sampling; each request's max tokens and a seed of (seed + index) are filled in
     * @param keepSteps how many step events to keep in the result (they are always streamed to the listener)
     */
    public static Result run(LlmEngine engine, List<Request> requests, SamplingParams sampling, double sloTtftS, double sloTpotS, Listener listener,
            BooleanSupplier cancelled, int keepSteps) {
        List<Request> pending = new ArrayList<>(requests);
        pending.sort(Comparator.comparingDouble(Request::arrival));
        double t0 = engine.now();
        java.util.Map<Integer, Sequence> byId = new java.util.HashMap<>();
        List<RequestMetrics> done = new ArrayList<>();
        List<StepEvent> kept = new ArrayList<>();
        int[] cached = new int[requests.size()];
        int next = 0;
        boolean stopped = false;
        while (next < pending.size() || engine.hasWork()) {
            if (cancelled.getAsBoolean()) {
                stopped = true;
                break;
            }
            double now = engine.now() - t0;
            while (next < pending.size() && pending.get(next).arrival() <= now) {
                Request q = pending.get(next++);
                SamplingParams p = new SamplingParams(sampling.temperature(), sampling.topK(), sampling.topP(), sampling.seed() + q.index(), q.maxTokens(),
                        sampling.stopTokens(), sampling.ignoreStop());
                Sequence s = engine.add(q.prompt(), p, q.priority(), t0 + q.arrival());
                s.tag = String.valueOf(q.index());
                byId.put(s.id(), s);
            }
            StepEvent e = engine.hasWork() ? engine.step(next < pending.size()) : null;
            if (e == null) {
                double wait = next < pending.size() ? pending.get(next).arrival() - (engine.now() - t0) : 0.001;
                sleep(Math.min(Math.max(wait, 0), engine.hasWork() ? 0.001 : 0.25));
                continue;
            }
            if (kept.size() < keepSteps) {
                kept.add(e);
            }
            listener.step(e);
            for (int id : e.finished()) {
                Sequence s = byId.get(id);
                RequestMetrics m = RequestMetrics.of(s);
                done.add(m);
                listener.finished(m);
            }
        }
        done.sort(Comparator.comparingInt(RequestMetrics::id));
        double end = done.stream().mapToDouble(r -> r.arrival() + r.latency()).max().orElse(engine.now());
        double first = byId.values().stream().mapToDouble(Sequence::arrival).min().orElse(t0);
        RunMetrics rm = RunMetrics.of(done, end - first, sloTtftS, sloTpotS);
        int preemptions = byId.values().stream().mapToInt(Sequence::preemptions).sum();
        return new Result(done, rm, engine.steps(), engine.peakAllocatedBytes(), engine.kvWasteFraction(), engine.scheduler().kv().hitRate(), preemptions,
                stopped, kept);
    }

    private static void sleep(double s) {
        if (s <= 0) {
            return;
        }
        try {
            Thread.sleep((long) (s * 1000), (int) ((s * 1e9) % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
