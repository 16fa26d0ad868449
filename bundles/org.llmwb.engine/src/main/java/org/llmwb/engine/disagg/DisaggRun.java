package org.llmwb.engine.disagg;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.RunMetrics;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.run.Request;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Sequence;

/**
 * Serving one workload with several engines at once, each on its own thread (and its own GPU or context):
 * <ul>
 * <li><b>Aggregated</b>: every worker prefills and decodes (data parallel); a router gives each request to the
 * least loaded worker.</li>
 * <li><b>Disaggregated</b>: prefill workers run each prompt and sample its first token; its K/V blocks are
 * then gathered into a staging buffer, copied to a decode worker (device copy, GPU peer copy or through host
 * memory), scattered into blocks that worker allocated, and decoding continues there. A request's first
 * token counts as delivered when its K/V has arrived (TTFT includes the transfer).</li>
 * </ul>
 * The engines share one wall clock; every figure is measured.
 */
public final class DisaggRun {
    /**
     * One K/V move: bytes, blocks, and the time of each stage (seconds): the prefill side's gather, the decode side's
     * receive (copy and scatter, or a pull over the link, as one step), and how long the gathered K/V waited for the
     * decode worker.
     */
    public record Transfer(String request, int blocks, long bytes, double gatherS, double receiveS, double waitS, String path) {
        public double totalS() {
            return gatherS + receiveS;
        }
    }

    /** @param outputs request index → its generated tokens */
    public record Result(String mode, int workers, List<RequestMetrics> requests, RunMetrics metrics, List<Transfer> transfers, List<Map<String, Object>> perWorker,
            List<StepEvent> steps, Map<Integer, int[]> outputs, boolean cancelled) {
    }

    /** A prefilled request on its way to a decode worker. */
    private record Handoff(Request req, Sequence prefilled, ModelRunner from, ModelRunner.KvStaging staging, Semaphore slots, int blocks, double gatherS,
            double ready) {
    }

    private DisaggRun() {
    }

    /** Aggregated serving over {@code engines} (one per GPU): each prefills and decodes its share. */
    public static Result aggregated(List<LlmEngine> engines, List<Request> reqs, SamplingParams sampling, double sloTtftS, double sloTpotS) {
        return aggregated(engines, reqs, sampling, sloTtftS, sloTpotS, () -> false);
    }

    /** As above; {@code cancelled} stops routing and every worker (the result then says so). */
    public static Result aggregated(List<LlmEngine> engines, List<Request> reqs, SamplingParams sampling, double sloTtftS, double sloTpotS,
            java.util.function.BooleanSupplier cancelled) {
        return new Runner("aggregated", engines, List.of(), reqs, sampling, 0, cancelled).run(sloTtftS, sloTpotS);
    }

    /**
     * Disaggregated serving: {@code prefill} workers and {@code decode} workers; each prefill worker keeps
     * {@code stagingSlots} staging buffers for the longest prompt (a full ring makes it wait for the decode side).
     */
    public static Result disaggregated(List<LlmEngine> prefill, List<LlmEngine> decode, List<Request> reqs, SamplingParams sampling, int stagingSlots,
            double sloTtftS, double sloTpotS) {
        return disaggregated(prefill, decode, reqs, sampling, stagingSlots, sloTtftS, sloTpotS, () -> false);
    }

    /** As above; {@code cancelled} stops routing and every worker (the result then says so). */
    public static Result disaggregated(List<LlmEngine> prefill, List<LlmEngine> decode, List<Request> reqs, SamplingParams sampling, int stagingSlots,
            double sloTtftS, double sloTpotS, java.util.function.BooleanSupplier cancelled) {
        if (prefill.isEmpty() || decode.isEmpty()) {
            throw new IllegalArgumentException("disaggregation needs at least one prefill and one decode worker");
        }
        for (LlmEngine d : decode) {
            int bs = d.runner().blockSize();
            for (Request q : reqs) {
                int need = (q.prompt().length + q.maxTokens() + bs - 1) / bs;
                if (need > d.scheduler().kv().totalBlocks()) {
                    throw new IllegalArgumentException("request " + q.index() + " needs " + need + " KV blocks (prompt + max tokens); a decode worker's pool has "
                            + d.scheduler().kv().totalBlocks());
                }
            }
        }
        return new Runner("disaggregated", prefill, decode, reqs, sampling, Math.max(1, stagingSlots), cancelled).run(sloTtftS, sloTpotS);
    }

    private static final class Worker {
        final LlmEngine engine;
        final String role;
        final int index;
        final ConcurrentLinkedQueue<Request> inbox = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Handoff> handoffs = new ConcurrentLinkedQueue<>();
        final AtomicInteger load = new AtomicInteger();
        final java.util.Map<Integer, Request> byId = new java.util.HashMap<>();
        final java.util.Map<Integer, Sequence> seqs = new java.util.HashMap<>();
        ModelRunner.KvStaging[] ring;
        ModelRunner.KvStaging receive;
        Semaphore slots;
        int nextSlot;
        int steps;
        double busyS;
        long tokens;

        Worker(LlmEngine engine, String role, int index) {
            this.engine = engine;
            this.role = role;
            this.index = index;
        }
    }

    private static final class Runner {
        final String mode;
        final List<Worker> front = new ArrayList<>();
        final List<Worker> back = new ArrayList<>();
        final List<Request> reqs;
        final SamplingParams sampling;
        final int stagingSlots;
        final List<RequestMetrics> done = Collections.synchronizedList(new ArrayList<>());
        final List<Transfer> transfers = Collections.synchronizedList(new ArrayList<>());
        final List<StepEvent> steps = Collections.synchronizedList(new ArrayList<>());
        final Map<Integer, int[]> outputs = new java.util.concurrent.ConcurrentHashMap<>();
        final AtomicBoolean routed = new AtomicBoolean();
        final AtomicInteger prefilling = new AtomicInteger();
        final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        final LlmEngine clock;
        final java.util.function.BooleanSupplier cancelled;
        final AtomicBoolean stopped = new AtomicBoolean();

        Runner(String mode, List<LlmEngine> front, List<LlmEngine> back, List<Request> reqs, SamplingParams sampling, int stagingSlots,
                java.util.function.BooleanSupplier cancelled) {
            this.mode = mode;
            this.cancelled = cancelled;
            for (int i = 0; i < front.size(); i++) {
                this.front.add(new Worker(front.get(i), back.isEmpty() ? "aggregated" : "prefill", i));
            }
            for (int i = 0; i < back.size(); i++) {
                this.back.add(new Worker(back.get(i), "decode", i));
            }
            this.reqs = new ArrayList<>(reqs);
            this.reqs.sort(Comparator.comparingDouble(Request::arrival));
            this.sampling = sampling;
            this.stagingSlots = stagingSlots;
            this.clock = front.get(0);
        }

        SamplingParams params(Request q, boolean prefillOnly) {
            return new SamplingParams(sampling.temperature(), sampling.topK(), sampling.topP(), sampling.seed() + q.index(), prefillOnly ? 1 : q.maxTokens(),
                    sampling.stopTokens(), sampling.ignoreStop());
        }

        Result run(double sloTtftS, double sloTpotS) {
            int longest = reqs.stream().mapToInt(r -> r.prompt().length).max().orElse(1);
            if (!back.isEmpty()) {
                for (Worker w : front) {
                    int bs = w.engine.runner().blockSize();
                    int blocks = (longest + bs - 1) / bs;
                    w.ring = new ModelRunner.KvStaging[stagingSlots];
                    for (int i = 0; i < stagingSlots; i++) {
                        w.ring[i] = w.engine.runner().newStaging(blocks);
                    }
                    w.slots = new Semaphore(stagingSlots);
                }
                for (Worker w : back) {
                    int bs = w.engine.runner().blockSize();
                    w.receive = w.engine.runner().newStaging((longest + bs - 1) / bs);
                }
            }
            double t0 = clock.now();
            List<Thread> threads = new ArrayList<>();
            for (Worker w : front) {
                threads.add(start(w, () -> loop(w, t0)));
            }
            for (Worker w : back) {
                threads.add(start(w, () -> decodeLoop(w)));
            }
            try {
                route(t0);
            } finally {
                routed.set(true);
                for (Thread t : threads) {
                    try {
                        t.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                for (Worker w : front) {
                    if (w.ring != null) {
                        for (ModelRunner.KvStaging s : w.ring) {
                            s.close();
                        }
                    }
                }
                for (Worker w : back) {
                    if (w.receive != null) {
                        w.receive.close();
                    }
                }
            }
            if (!failures.isEmpty()) {
                Throwable f = failures.get(0);
                throw f instanceof RuntimeException r ? r : new IllegalStateException(f);
            }
            List<RequestMetrics> rs = new ArrayList<>(done);
            rs.sort(Comparator.comparingInt(RequestMetrics::id));
            double end = rs.stream().mapToDouble(r -> r.arrival() + r.latency()).max().orElse(t0);
            double first = rs.stream().mapToDouble(RequestMetrics::arrival).min().orElse(t0);
            List<Map<String, Object>> per = new ArrayList<>();
            for (Worker w : concat()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("role", w.role);
                m.put("index", w.index);
                m.put("device", w.engine.runner().device());
                m.put("steps", w.steps);
                m.put("busySeconds", w.busyS);
                m.put("tokens", w.tokens);
                per.add(m);
            }
            List<StepEvent> st = new ArrayList<>(steps);
            return new Result(mode, front.size() + back.size(), rs, RunMetrics.of(rs, end - first, sloTtftS, sloTpotS), new ArrayList<>(transfers), per, st,
                    new java.util.TreeMap<>(outputs), stopped.get());
        }

        List<Worker> concat() {
            List<Worker> all = new ArrayList<>(front);
            all.addAll(back);
            return all;
        }

        Thread start(Worker w, Runnable body) {
            Thread t = new Thread(() -> {
                try {
                    w.engine.runner().bindToCurrentThread();
                    body.run();
                } catch (Throwable e) {
                    failures.add(e);
                    routed.set(true);
                }
            }, "llmwb-" + w.role + "-" + w.index);
            t.start();
            return t;
        }

        /** Sends each request, at its arrival time, to the front worker with the least outstanding work. */
        void route(double t0) {
            for (Request q : reqs) {
                while (clock.now() - t0 < q.arrival()) {
                    if (!failures.isEmpty() || stop()) {
                        return;
                    }
                    sleep(Math.min(0.002, q.arrival() - (clock.now() - t0)));
                }
                Worker w = front.stream().min(Comparator.comparingInt(x -> x.load.get())).orElseThrow();
                w.load.addAndGet(back.isEmpty() ? 1 : q.prompt().length);
                if (!back.isEmpty()) {
                    prefilling.incrementAndGet();
                }
                w.inbox.add(new Request(q.index(), t0 + q.arrival(), q.prompt(), q.maxTokens(), q.priority()));
            }
        }

        /** Whether the caller cancelled the run (checked by the router and every worker). */
        boolean stop() {
            if (!stopped.get() && cancelled.getAsBoolean()) {
                stopped.set(true);
                routed.set(true);
            }
            return stopped.get();
        }

        /** An aggregated worker, or a prefill worker (then each finished prefill is handed to a decode worker). */
        void loop(Worker w, double t0) {
            boolean prefillOnly = !back.isEmpty();
            while (!stop()) {
                Request q;
                while ((q = w.inbox.poll()) != null) {
                    Sequence s = w.engine.add(q.prompt(), params(q, prefillOnly), q.priority(), q.arrival());
                    s.tag = String.valueOf(q.index());
                    w.byId.put(s.id(), q);
                    w.seqs.put(s.id(), s);
                }
                if (!w.engine.hasWork()) {
                    if (routed.get() && w.inbox.isEmpty()) {
                        return;
                    }
                    sleep(0.0005);
                    continue;
                }
                StepEvent e = w.engine.step(!routed.get());
                if (e == null) {
                    sleep(0.0005);
                    continue;
                }
                record(w, e);
                for (int id : e.finished()) {
                    Request req = w.byId.remove(id);
                    Sequence s = w.seqs.remove(id);
                    if (!prefillOnly || req.maxTokens() <= 1 || s.finishReason() == Sequence.FinishReason.STOP && !sampling.ignoreStop()) {
                        w.load.addAndGet(prefillOnly ? -req.prompt().length : -1);
                        if (prefillOnly) {
                            prefilling.decrementAndGet();
                        }
                        done.add(RequestMetrics.of(s).withId(req.index()));
                        outputs.put(req.index(), s.output());
                        continue;
                    }
                    handOff(w, req, s);
                }
                if (!failures.isEmpty()) {
                    return;
                }
            }
        }

        void record(Worker w, StepEvent e) {
            w.steps++;
            w.busyS += e.seconds();
            w.tokens += e.prefillTokens() + e.decodeTokens();
            if (steps.size() < 20_000) {
                steps.add(e.withPool(w.role + "-" + w.index));
            }
        }

        /** Gathers the prompt's K/V into a free staging slot (waiting for one) and queues it for the least loaded decode worker. */
        void handOff(Worker w, Request req, Sequence s) {
            int bs = w.engine.runner().blockSize();
            int blocks = (req.prompt().length + bs - 1) / bs;
            int[] table = java.util.Arrays.copyOf(s.finalBlockTable(), blocks);
            // wait for a free staging slot, but not past a cancel or a failure: the decode workers that free slots stop
            // then, and a blocking acquire would hang this thread (and the run that joins it) for good
            try {
                while (!w.slots.tryAcquire(2, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    if (stop() || !failures.isEmpty()) {
                        return;
                    }
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            }
            ModelRunner.KvStaging slot = w.ring[w.nextSlot];
            w.nextSlot = (w.nextSlot + 1) % w.ring.length;
            double g0 = clock.now();
            w.engine.runner().gatherKv(table, slot);
            double g1 = clock.now();
            Worker d = back.stream().min(Comparator.comparingInt(x -> x.load.get())).orElseThrow();
            d.load.incrementAndGet();
            w.load.addAndGet(-req.prompt().length);
            d.handoffs.add(new Handoff(req, s, w.engine.runner(), slot, w.slots, blocks, g1 - g0, g1));
            prefilling.decrementAndGet();
        }

        /** A decode worker: takes in handed-off requests (copy, scatter) as room allows, and decodes. */
        void decodeLoop(Worker w) {
            while (!stop()) {
                Handoff h;
                while ((h = w.handoffs.peek()) != null) {
                    if (!receive(w, h)) {
                        break; // no room yet: decode first, retry next step
                    }
                    w.handoffs.poll();
                }
                if (!w.engine.hasWork()) {
                    if (routed.get() && prefilling.get() == 0 && w.handoffs.isEmpty() && allFrontIdle()) {
                        return;
                    }
                    if (!failures.isEmpty()) {
                        return;
                    }
                    sleep(0.0002);
                    continue;
                }
                StepEvent e = w.engine.step(true);
                if (e == null) {
                    continue;
                }
                record(w, e);
                for (int id : e.finished()) {
                    Sequence s = w.seqs.remove(id);
                    Request req = w.byId.remove(id);
                    w.load.decrementAndGet();
                    done.add(RequestMetrics.of(s).withId(req.index()));
                    outputs.put(req.index(), s.output());
                }
            }
        }

        boolean allFrontIdle() {
            for (Worker f : front) {
                if (!f.inbox.isEmpty() || f.engine.hasWork()) {
                    return false;
                }
            }
            return true;
        }

        boolean receive(Worker w, Handoff h) {
            Sequence p = h.prefilled();
            int first = p.output()[0];
            Sequence s = w.engine.adopt(h.req().prompt(), first, p.tokenTimes().get(0), params(h.req(), false), h.req().priority(), h.req().arrival());
            if (s == null) {
                return false;
            }
            s.tag = String.valueOf(h.req().index());
            double c0 = clock.now();
            int[] table = java.util.Arrays.copyOf(s.kv().blockTable(), h.blocks());
            String path = w.engine.runner().receiveKv(h.from(), h.staging(), w.receive, table);
            double c1 = clock.now();
            h.slots().release();
            s.firstTokenAt(c1);
            long bytes = h.blocks() * w.engine.runner().kvBlockBytes();
            transfers.add(new Transfer(h.req().index() + "", h.blocks(), bytes, h.gatherS(), c1 - c0, c0 - h.ready(), path));
            w.byId.put(s.id(), h.req());
            w.seqs.put(s.id(), s);
            return true;
        }
    }

    static void sleep(double s) {
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
