package org.llmwb.ui.views;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.eclipse.jface.dialogs.MessageDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Shell;
import org.llmwb.core.plot.CsvExport;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.PngExport;
import org.llmwb.core.plot.SvgExport;

/** Saves what a plot view shows as PNG, SVG or CSV through the same core renderers the CLI uses. */
public final class PlotExports {
    private PlotExports() {
    }

    /** Asks for a file; the extension picks the format. */
    public static void ask(Shell shell, PlotModel model, String baseName) {
        if (model == null) {
            MessageDialog.openInformation(shell, "Export", "Nothing to export yet.");
            return;
        }
        FileDialog d = new FileDialog(shell, SWT.SAVE);
        d.setFilterExtensions(new String[] {"*.png", "*.svg", "*.csv"});
        d.setFilterNames(new String[] {"PNG image", "SVG image", "CSV (lines and points)"});
        d.setFileName(baseName + ".png");
        d.setOverwrite(true);
        String f = d.open();
        if (f == null) {
            return;
        }
        String ext = new String[] {".png", ".svg", ".csv"}[Math.max(0, d.getFilterIndex())];
        Path p = Path.of(f.contains(".") ? f : f + ext);
        try {
            write(p, model);
        } catch (IOException | RuntimeException e) {
            MessageDialog.openError(shell, "Export failed", "Could not write " + p + ": " + e.getMessage());
        }
    }

    /** Writes the model in the format its name says (.png, .svg or .csv), atomically. */
    public static void write(Path p, PlotModel model) throws IOException {
        String n = p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        byte[] bytes;
        if (n.endsWith(".png")) {
            bytes = PngExport.render(model, 1100, 700);
        } else if (n.endsWith(".svg")) {
            bytes = SvgExport.render(model, 1100, 700).getBytes(StandardCharsets.UTF_8);
        } else if (n.endsWith(".csv")) {
            bytes = CsvExport.render(model).getBytes(StandardCharsets.UTF_8);
        } else {
            throw new IOException("use a .png, .svg or .csv name");
        }
        org.llmwb.core.result.AtomicFiles.write(p, bytes);
    }
}
