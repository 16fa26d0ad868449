package org.llmwb.ui.tests;

import java.util.function.BooleanSupplier;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.graphics.ImageData;
import org.eclipse.swt.graphics.RGB;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Event;
import org.eclipse.ui.IViewPart;
import org.eclipse.ui.PlatformUI;

/** Helpers for tests running on the workbench's UI thread. */
final class Ui {
    private Ui() {
    }

    static Display display() {
        return PlatformUI.getWorkbench().getDisplay();
    }

    static <T extends IViewPart> T show(String id, Class<T> type) throws Exception {
        IViewPart v = PlatformUI.getWorkbench().getActiveWorkbenchWindow().getActivePage().showView(id);
        spin(200);
        return type.cast(v);
    }

    /** Runs the event loop for about {@code millis} ms. */
    static void spin(long millis) {
        Display d = display();
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (!d.readAndDispatch()) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Runs the event loop until the condition holds; fails after {@code timeoutMillis}. */
    static void waitFor(String what, long timeoutMillis, BooleanSupplier condition) {
        Display d = display();
        long end = System.currentTimeMillis() + timeoutMillis;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            if (!d.readAndDispatch()) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The colour of a pixel of a control as it paints itself. */
    static RGB pixel(Control c, int x, int y) {
        Image img = new Image(display(), c.getSize().x, c.getSize().y);
        GC gc = new GC(img);
        c.print(gc);
        gc.dispose();
        ImageData data = img.getImageData();
        RGB rgb = data.palette.getRGB(data.getPixel(x, y));
        img.dispose();
        return rgb;
    }

    static void mouseMove(Control c, int x, int y) {
        Event e = new Event();
        e.type = SWT.MouseMove;
        e.x = x;
        e.y = y;
        e.widget = c;
        e.display = display();
        c.notifyListeners(SWT.MouseMove, e);
        spin(50);
    }

    /**
     * A real mouse drag through the X server, made by {@code xdotool} in its own process while this
     * (UI) thread keeps dispatching events, as when a person drags: press at {@code from}, move in
     * steps, release at {@code to}; points in the control's coordinates.
     */
    static void drag(Control c, org.eclipse.swt.graphics.Point from, org.eclipse.swt.graphics.Point to) throws Exception {
        org.eclipse.swt.graphics.Point a = c.toDisplay(from);
        org.eclipse.swt.graphics.Point b = c.toDisplay(to);
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("xdotool", "mousemove", "--sync", a.x + "", a.y + "", "sleep", "0.2",
                "mousedown", "1"));
        for (int i = 1; i <= 10; i++) {
            cmd.addAll(java.util.List.of("sleep", "0.05", "mousemove", a.x + (b.x - a.x) * i / 10 + "", a.y + (b.y - a.y) * i / 10 + ""));
        }
        cmd.addAll(java.util.List.of("sleep", "0.3", "mouseup", "1"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        long end = System.currentTimeMillis() + 15_000;
        while (p.isAlive() && System.currentTimeMillis() < end) {
            spin(20);
        }
        if (p.isAlive() || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError("xdotool failed: " + new String(p.getInputStream().readAllBytes()));
        }
        spin(300);
    }

    /** True when xdotool (real X input for drag tests) is installed; .ci/run installs it. */
    static boolean hasXdotool() {
        try {
            return new ProcessBuilder("xdotool", "version").start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
