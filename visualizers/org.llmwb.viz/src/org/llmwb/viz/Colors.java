package org.llmwb.viz;

import java.util.HashMap;
import java.util.Map;

import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.Device;
import org.llmwb.core.plot.Palette;

/** SWT colours for palette indexes (SWT 3.1xx colours need no disposal). */
final class Colors {
    private static final Map<Integer, Color> CACHE = new HashMap<>();

    private Colors() {
    }

    static Color of(Device d, int index) {
        return CACHE.computeIfAbsent(Math.floorMod(index, 8), i -> {
            int[] c = Palette.rgb(i);
            return new Color(d, c[0], c[1], c[2]);
        });
    }
}
