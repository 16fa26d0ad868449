package org.llmwb.core.lesson;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

class MarkdownDocTest {
    @Test
    void blocksRunsAndTables() {
        MarkdownDoc d = MarkdownDoc.parse("# Title\n\nA **bold** and *it* with `code` and [a link](https://x.org).\n\n"
                + "- one\n- two\n  1. nested\n\n> quoted\n\n```\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | **2** |\n");
        List<MarkdownDoc.Block> b = d.blocks();
        assertEquals(MarkdownDoc.Kind.HEADING, b.get(0).kind());
        assertEquals("Title", b.get(0).text());
        MarkdownDoc.Block p = b.get(1);
        assertEquals("A bold and it with code and a link.", p.text());
        assertTrue(p.runs().contains(new MarkdownDoc.Run(2, 4, MarkdownDoc.Style.BOLD, null)), p.runs().toString());
        assertTrue(p.runs().contains(new MarkdownDoc.Run(28, 6, MarkdownDoc.Style.LINK, "https://x.org")), p.runs().toString());
        assertEquals("•", b.get(2).marker());
        assertEquals("1.", b.get(4).marker());
        assertEquals(2, b.get(4).level());
        assertEquals(MarkdownDoc.Kind.QUOTE, b.get(5).kind());
        assertEquals("x = 1", b.get(6).text());
        assertEquals(List.of(List.of("a", "b"), List.of("1", "2")), b.get(7).rows());
    }

    @Test
    void everyLessonPageParses() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(root.resolve("lessons"))) {
            root = root.getParent();
        }
        try (Stream<Path> pages = Files.walk(root.resolve("lessons"))) {
            for (Path page : pages.filter(f -> f.toString().endsWith(".md")).toList()) {
                MarkdownDoc d = MarkdownDoc.parse(Files.readString(page));
                assertTrue(!d.blocks().isEmpty(), page.toString());
                assertTrue(d.blocks().stream().noneMatch(x -> x.text().contains("**")), page + ": unparsed emphasis");
            }
        }
    }
}
