package org.llmwb.core.lesson;

import java.util.ArrayList;
import java.util.List;

import org.commonmark.ext.gfm.tables.TableBlock;
import org.commonmark.ext.gfm.tables.TableCell;
import org.commonmark.ext.gfm.tables.TableRow;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.node.BlockQuote;
import org.commonmark.node.BulletList;
import org.commonmark.node.Code;
import org.commonmark.node.Emphasis;
import org.commonmark.node.FencedCodeBlock;
import org.commonmark.node.HardLineBreak;
import org.commonmark.node.Heading;
import org.commonmark.node.Image;
import org.commonmark.node.IndentedCodeBlock;
import org.commonmark.node.Link;
import org.commonmark.node.ListItem;
import org.commonmark.node.Node;
import org.commonmark.node.OrderedList;
import org.commonmark.node.Paragraph;
import org.commonmark.node.SoftLineBreak;
import org.commonmark.node.StrongEmphasis;
import org.commonmark.node.Text;
import org.commonmark.node.ThematicBreak;
import org.commonmark.parser.Parser;

/**
 * A lesson page as blocks of styled text, for a view to draw without parsing Markdown itself: CommonMark (with
 * GitHub tables) parsed by commonmark-java, flattened to headings, paragraphs, list items, quotes, code blocks and
 * tables whose text carries bold / italic / code / link runs.
 */
public final class MarkdownDoc {
    public enum Kind { HEADING, PARAGRAPH, BULLET, QUOTE, CODE, TABLE, RULE }

    public enum Style { BOLD, ITALIC, CODE, LINK }

    /** A styled range of a block's text. */
    public record Run(int start, int length, Style style, String target) {
    }

    /**
     * One block: its text and runs; {@code level} is the heading level or the list depth (1 = top); {@code marker}
     * the list marker ("•" or "3."); a table's cells are in {@code rows} (the first row is the header).
     */
    public record Block(Kind kind, int level, String marker, String text, List<Run> runs, List<List<String>> rows) {
    }

    private static final Parser PARSER = Parser.builder().extensions(List.of(TablesExtension.create())).build();

    private final List<Block> blocks = new ArrayList<>();

    private MarkdownDoc() {
    }

    public static MarkdownDoc parse(String markdown) {
        MarkdownDoc d = new MarkdownDoc();
        d.blocks(PARSER.parse(markdown), 0, false);
        return d;
    }

    public List<Block> blocks() {
        return List.copyOf(blocks);
    }

    private void blocks(Node parent, int depth, boolean quote) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNext()) {
            switch (n) {
                case Heading h -> inline(Kind.HEADING, h.getLevel(), null, h);
                case Paragraph p -> inline(quote ? Kind.QUOTE : Kind.PARAGRAPH, depth, null, p);
                case BlockQuote q -> blocks(q, depth, true);
                case FencedCodeBlock c -> blocks.add(new Block(Kind.CODE, 0, null, stripEnd(c.getLiteral()), List.of(), List.of()));
                case IndentedCodeBlock c -> blocks.add(new Block(Kind.CODE, 0, null, stripEnd(c.getLiteral()), List.of(), List.of()));
                case ThematicBreak t -> blocks.add(new Block(Kind.RULE, 0, null, "", List.of(), List.of()));
                case BulletList l -> items(l, depth + 1, -1);
                case OrderedList l -> items(l, depth + 1, l.getMarkerStartNumber() == null ? 1 : l.getMarkerStartNumber());
                case TableBlock t -> table(t);
                default -> blocks(n, depth, quote);
            }
        }
    }

    private void items(Node list, int depth, int number) {
        int k = number;
        for (Node item = list.getFirstChild(); item != null; item = item.getNext()) {
            if (!(item instanceof ListItem)) {
                continue;
            }
            String marker = number < 0 ? "•" : (k++) + ".";
            boolean first = true;
            for (Node c = item.getFirstChild(); c != null; c = c.getNext()) {
                if (c instanceof Paragraph p) {
                    inline(Kind.BULLET, depth, first ? marker : "", p);
                    first = false;
                } else if (c instanceof BulletList || c instanceof OrderedList) {
                    items(c, depth + 1, c instanceof OrderedList o ? (o.getMarkerStartNumber() == null ? 1 : o.getMarkerStartNumber()) : -1);
                } else {
                    blocks(c, depth, false);
                }
            }
        }
    }

    private void table(TableBlock t) {
        List<List<String>> rows = new ArrayList<>();
        collectRows(t, rows);
        blocks.add(new Block(Kind.TABLE, 0, null, "", List.of(), rows));
    }

    private static void collectRows(Node n, List<List<String>> rows) {
        for (Node c = n.getFirstChild(); c != null; c = c.getNext()) {
            if (c instanceof TableRow r) {
                List<String> cells = new ArrayList<>();
                for (Node cell = r.getFirstChild(); cell != null; cell = cell.getNext()) {
                    if (cell instanceof TableCell) {
                        StringBuilder sb = new StringBuilder();
                        plain(cell, sb);
                        cells.add(sb.toString().strip());
                    }
                }
                rows.add(cells);
            } else {
                collectRows(c, rows);
            }
        }
    }

    private static void plain(Node n, StringBuilder sb) {
        for (Node c = n.getFirstChild(); c != null; c = c.getNext()) {
            if (c instanceof Text t) {
                sb.append(t.getLiteral());
            } else if (c instanceof Code code) {
                sb.append(code.getLiteral());
            } else if (c instanceof SoftLineBreak || c instanceof HardLineBreak) {
                sb.append(' ');
            } else {
                plain(c, sb);
            }
        }
    }

    private void inline(Kind kind, int level, String marker, Node container) {
        StringBuilder sb = new StringBuilder();
        List<Run> runs = new ArrayList<>();
        spans(container, sb, runs);
        blocks.add(new Block(kind, level, marker, sb.toString(), runs, List.of()));
    }

    private static void spans(Node n, StringBuilder sb, List<Run> runs) {
        for (Node c = n.getFirstChild(); c != null; c = c.getNext()) {
            int start = sb.length();
            switch (c) {
                case Text t -> sb.append(t.getLiteral());
                case SoftLineBreak b -> sb.append(' ');
                case HardLineBreak b -> sb.append('\n');
                case Code code -> {
                    sb.append(code.getLiteral());
                    runs.add(new Run(start, code.getLiteral().length(), Style.CODE, null));
                }
                case StrongEmphasis e -> {
                    spans(e, sb, runs);
                    runs.add(new Run(start, sb.length() - start, Style.BOLD, null));
                }
                case Emphasis e -> {
                    spans(e, sb, runs);
                    runs.add(new Run(start, sb.length() - start, Style.ITALIC, null));
                }
                case Link l -> {
                    spans(l, sb, runs);
                    runs.add(new Run(start, sb.length() - start, Style.LINK, l.getDestination()));
                }
                case Image i -> {
                    sb.append("[image: ").append(i.getTitle() != null ? i.getTitle() : i.getDestination()).append(']');
                    runs.add(new Run(start, sb.length() - start, Style.LINK, i.getDestination()));
                }
                default -> spans(c, sb, runs);
            }
        }
    }

    private static String stripEnd(String s) {
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
