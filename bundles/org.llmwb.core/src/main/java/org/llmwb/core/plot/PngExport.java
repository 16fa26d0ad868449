package org.llmwb.core.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import javax.imageio.ImageIO;

/**
 * Renders a {@link PlotModel} to PNG with Java2D, headless (no display needed), with the same layout
 * as {@link SvgExport}: the CLI's image export of the chart the workbench draws.
 */
public final class PngExport {
    private PngExport() {
    }

    public static byte[] render(PlotModel p, int width, int height) {
        System.setProperty("java.awt.headless", "true");
        int left = 80, right = 20, top = 40, bottom = 60 + 16 * (p.lines().size() + p.notes().size() + 1);
        double w = width - left - right;
        double h = height - top - bottom;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString(p.title(), left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        Color grid = new Color(221, 221, 221);
        for (double t : p.x().ticks()) {
            int x = (int) Math.round(left + p.x().fraction(t) * w);
            g.setColor(grid);
            g.drawLine(x, top, x, (int) (top + h));
            g.setColor(Color.DARK_GRAY);
            String s = SvgExport.tickLabel(t);
            g.drawString(s, x - g.getFontMetrics().stringWidth(s) / 2, (int) (top + h + 16));
        }
        for (double t : p.y().ticks()) {
            int y = (int) Math.round(top + (1 - p.y().fraction(t)) * h);
            g.setColor(grid);
            g.drawLine(left, y, (int) (left + w), y);
            g.setColor(Color.DARK_GRAY);
            String s = SvgExport.tickLabel(t);
            g.drawString(s, left - 6 - g.getFontMetrics().stringWidth(s), y + 4);
        }
        g.setColor(Color.GRAY);
        g.drawRect(left, top, (int) w, (int) h);
        g.setColor(Color.BLACK);
        g.drawString(p.x().label(), (int) (left + w / 2 - g.getFontMetrics().stringWidth(p.x().label()) / 2.0), (int) (top + h + 36));
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(p.y().label(), (int) -(top + h / 2 + g.getFontMetrics().stringWidth(p.y().label()) / 2.0), 18);
        g.setTransform(saved);
        g.setClip(left, top, (int) w, (int) h);
        for (PlotModel.Line l : p.lines()) {
            g.setColor(color(l.colorIndex()));
            g.setStroke("dashed".equals(l.style()) ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {6f, 4f}, 0f)
                    : new BasicStroke(2f));
            for (int i = 1; i < l.points().size(); i++) {
                double[] a = l.points().get(i - 1);
                double[] b = l.points().get(i);
                g.drawLine(px(p, a[0], left, w), py(p, a[1], top, h), px(p, b[0], left, w), py(p, b[1], top, h));
            }
        }
        g.setStroke(new BasicStroke(1f));
        for (PlotModel.Marker m : p.markers()) {
            int x = px(p, m.x(), left, w);
            int y = py(p, m.y(), top, h);
            g.setColor(color(m.colorIndex() + 3));
            switch (m.shape()) {
                case "square" -> g.fillRect(x - 5, y - 5, 10, 10);
                case "triangle" -> g.fillPolygon(new int[] {x, x - 6, x + 6}, new int[] {y - 6, y + 5, y + 5}, 3);
                case "diamond" -> g.fillPolygon(new int[] {x, x + 6, x, x - 6}, new int[] {y - 6, y, y + 6, y}, 4);
                default -> g.fillOval(x - 5, y - 5, 10, 10);
            }
            if (!m.label().isEmpty()) {
                g.setColor(Color.BLACK);
                g.drawString(m.label(), x + 8, y - 8);
            }
        }
        g.setClip(null);
        int ly = (int) (top + h + 56);
        for (PlotModel.Line l : p.lines()) {
            g.setColor(color(l.colorIndex()));
            g.setStroke("dashed".equals(l.style()) ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {6f, 4f}, 0f)
                    : new BasicStroke(2f));
            g.drawLine(left, ly - 4, left + 24, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString(l.label(), left + 30, ly);
            ly += 16;
        }
        g.setColor(Color.DARK_GRAY);
        for (String n : p.notes()) {
            g.drawString(n, left, ly);
            ly += 16;
        }
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static int px(PlotModel p, double x, int left, double w) {
        return (int) Math.round(left + p.x().fraction(x) * w);
    }

    private static int py(PlotModel p, double y, int top, double h) {
        return (int) Math.round(top + (1 - p.y().fraction(y)) * h);
    }

    private static Color color(int i) {
        int[] c = Palette.rgb(i);
        return new Color(c[0], c[1], c[2]);
    }
}
