package org.llmwb.core.plot;

/** The colours every renderer uses for a plot model's colour indexes (RGB), so SVG, PNG and SWT agree. */
public final class Palette {
    private static final int[][] RGB = {
        {31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207},
    };

    private Palette() {
    }

    public static int[] rgb(int index) {
        return RGB[Math.floorMod(index, RGB.length)];
    }

    public static String hex(int index) {
        int[] c = rgb(index);
        return String.format("#%02x%02x%02x", c[0], c[1], c[2]);
    }
}
