package org.llmwb.ui.views;

import java.util.ArrayList;
import java.util.List;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Text;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

/**
 * Input rows shared by the views: labelled combos and text fields whose values are parsed on
 * every change; a bad entry is marked (pink background, tooltip with the reason) and reported,
 * never thrown at the user.
 */
final class Inputs {
    private final Composite parent;
    private final Runnable onChange;
    private final List<String> errors = new ArrayList<>();
    private final Color bad;

    Inputs(Composite parent, Runnable onChange) {
        this.parent = parent;
        this.onChange = onChange;
        this.bad = new Color(parent.getDisplay(), 255, 205, 205);
        this.fire = () -> {
            if (!parent.isDisposed()) {
                onChange.run();
            }
        };
    }

    Combo combo(String label, List<String> items, String initial, boolean editable) {
        new Label(parent, SWT.NONE).setText(label);
        Combo c = new Combo(parent, editable ? SWT.DROP_DOWN : SWT.DROP_DOWN | SWT.READ_ONLY);
        c.setItems(items.toArray(String[]::new));
        c.setText(initial);
        GridData gd = new GridData(SWT.FILL, SWT.CENTER, true, false);
        gd.widthHint = 110;
        c.setLayoutData(gd);
        c.addModifyListener(e -> schedule());
        return c;
    }

    Text text(String label, String initial) {
        new Label(parent, SWT.NONE).setText(label);
        Text t = new Text(parent, SWT.BORDER);
        t.setText(initial);
        t.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        t.addModifyListener(e -> schedule());
        return t;
    }

    /** Coalesces bursts of keystrokes into one update 120 ms after the last. */
    private final Runnable fire;

    private void schedule() {
        Display d = parent.getDisplay();
        d.timerExec(-1, fire);
        d.timerExec(120, fire);
    }

    void beginValidation() {
        errors.clear();
    }

    List<String> errors() {
        return errors;
    }

    private void mark(Control c, String error) {
        c.setBackground(error == null ? null : bad);
        c.setToolTipText(error);
        if (error != null) {
            errors.add(error);
        }
    }

    ModelConfig model(Combo c) {
        try {
            ModelConfig m = ModelPresets.resolve(c.getText().trim());
            mark(c, null);
            return m;
        } catch (InputException | java.nio.file.InvalidPathException e) {
            mark(c, "model: " + e.getMessage());
            return null;
        }
    }

    GpuSpec gpu(Combo c, GpuCatalog catalog) {
        try {
            GpuSpec g = catalog.get(c.getText().trim());
            mark(c, null);
            return g;
        } catch (InputException e) {
            mark(c, "GPU: " + e.getMessage());
            return null;
        }
    }

    Precision precision(Combo c, String what) {
        try {
            Precision p = Precision.parse(c.getText());
            mark(c, null);
            return p;
        } catch (InputException e) {
            mark(c, what + ": " + e.getMessage());
            return null;
        }
    }

    /** A whole number in [1, max]; null (and marked) otherwise. */
    Long positive(Text t, String what, long max) {
        String s = t.getText().trim().replace("_", "").replace(",", "");
        try {
            long v = Long.parseLong(s);
            if (v < 1 || v > max) {
                mark(t, what + " must be between 1 and " + max + " (got " + v + ")");
                return null;
            }
            mark(t, null);
            return v;
        } catch (NumberFormatException e) {
            mark(t, what + " must be a whole number (got '" + s + "')");
            return null;
        }
    }

    static List<String> precisionIds() {
        List<String> ids = new ArrayList<>();
        for (Precision p : Precision.values()) {
            ids.add(p.id());
        }
        return ids;
    }
}
