package org.llmwb.engine.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.Sequence;

/**
 * Puts an engine on its own thread so many clients can share one scheduler: {@link #submit} may be called
 * from any thread; the loop adds submitted requests between steps, steps while there is work, and otherwise
 * blocks until a request arrives. Each request's tokens come back through its {@link Stream} (also on the
 * engine thread, so a listener must only hand them over). Closing a stream's request (client gone) aborts
 * the sequence and frees its blocks.
 */
public final class EngineLoop implements AutoCloseable {
    /** Receives a request's tokens as they are sampled, then its end. */
    public interface Stream {
        void token(int token);

        /** The sequence finished ("stop", "length") or was aborted ("abort"). */
        void finished(String reason, int promptTokens, int outputTokens);

        /** The request could not be run (e.g. it does not fit the model's length); nothing was generated. */
        void rejected(String message);

        /** The engine itself failed (a server fault, not the request's). */
        default void failed(String message) {
            rejected(message);
        }
    }

    /** A submitted request; {@link #cancel()} aborts it. */
    public final class Handle {
        final int[] prompt;
        final SamplingParams params;
        final Stream stream;
        final AtomicBoolean cancelled = new AtomicBoolean();
        volatile Sequence seq;

        Handle(int[] prompt, SamplingParams params, Stream stream) {
            this.prompt = prompt;
            this.params = params;
            this.stream = stream;
        }

        public void cancel() {
            if (cancelled.compareAndSet(false, true)) {
                inbox.add(this);
            }
        }
    }

    private final LlmEngine engine;
    private final LinkedBlockingQueue<Handle> inbox = new LinkedBlockingQueue<>();
    private final List<Handle> live = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closing;
    private volatile Throwable failure;
    private final AtomicLong steps = new AtomicLong();
    private final AtomicInteger maxRunning = new AtomicInteger();
    private final AtomicLong served = new AtomicLong();

    public EngineLoop(LlmEngine engine, String name) {
        this.engine = engine;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    public Handle submit(int[] prompt, SamplingParams params, Stream stream) {
        if (closing) {
            throw new IllegalStateException("the engine is shutting down");
        }
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException("the engine stopped after an error: " + f, f);
        }
        Handle h = new Handle(prompt, params, stream);
        inbox.add(h);
        return h;
    }

    public long steps() {
        return steps.get();
    }

    /** The most sequences that ran in one step so far (shows that concurrent clients were batched). */
    /** The model's context length (max_position_embeddings). */
    public long maxModelLen() {
        return engine.runner().config().maxPositions();
    }

    public int maxRunning() {
        return maxRunning.get();
    }

    public long served() {
        return served.get();
    }

    public LlmEngine engine() {
        return engine;
    }

    private void loop() {
        try {
            engine.runner().bindToCurrentThread(); // a CUDA context is current per thread: make the runner's current on this one
            while (!closing) {
                Handle h = engine.hasWork() ? inbox.poll() : inbox.poll(200, TimeUnit.MILLISECONDS);
                while (h != null) {
                    accept(h);
                    h = inbox.poll();
                }
                if (!engine.hasWork()) {
                    continue;
                }
                var ev = engine.step(true);
                if (ev != null) {
                    steps.incrementAndGet();
                    maxRunning.accumulateAndGet(ev.parts().size(), Math::max);
                } else {
                    Thread.sleep(1);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            failure = t;
            for (Handle h : live) {
                h.stream.failed("the engine failed: " + t);
            }
            live.clear();
            for (Handle h = inbox.poll(); h != null; h = inbox.poll()) {
                h.stream.failed("the engine failed: " + t);
            }
        }
    }

    private void accept(Handle h) {
        if (h.seq != null) { // a cancellation
            if (live.remove(h)) {
                engine.abort(h.seq);
                h.stream.finished("abort", h.seq.promptLength(), h.seq.outputLength());
            }
            return;
        }
        if (h.cancelled.get()) {
            return;
        }
        Sequence s;
        try {
            s = engine.add(h.prompt, h.params, 0, engine.now());
        } catch (IllegalArgumentException e) {
            h.stream.rejected(e.getMessage());
            return;
        }
        h.seq = s;
        live.add(h);
        s.listener((seq, token, last) -> {
            h.stream.token(token);
            if (last) {
                live.remove(h);
                served.incrementAndGet();
                h.stream.finished(seq.finishReason() == Sequence.FinishReason.STOP ? "stop" : "length", seq.promptLength(), seq.outputLength());
            }
        });
    }

    @Override
    public void close() {
        closing = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
