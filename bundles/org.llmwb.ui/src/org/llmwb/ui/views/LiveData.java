package org.llmwb.ui.views;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the live data providers of the views share: listeners called on the UI thread after each
 * change, and a version that increases with every change (lets a viewer skip redundant redraws).
 */
abstract class LiveData {
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private long version;

    public long version() {
        return version;
    }

    public void addListener(Runnable l) {
        listeners.add(l);
    }

    public void removeListener(Runnable l) {
        listeners.remove(l);
    }

    protected void changed() {
        version++;
        for (Runnable l : listeners) {
            l.run();
        }
    }

    /**
     * A redraw that runs at most once per {@code millis} however often it is asked for: records and
     * steps stream in faster than a view should repaint.
     */
    static Runnable coalesced(org.eclipse.swt.widgets.Control c, int millis, Runnable redraw) {
        boolean[] scheduled = {false};
        return () -> {
            if (!scheduled[0] && !c.isDisposed()) {
                scheduled[0] = true;
                c.getDisplay().timerExec(millis, () -> {
                    scheduled[0] = false;
                    if (!c.isDisposed()) {
                        redraw.run();
                    }
                });
            }
        };
    }
}
