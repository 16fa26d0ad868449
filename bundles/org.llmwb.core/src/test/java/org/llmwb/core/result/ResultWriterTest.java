package org.llmwb.core.result;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;

class ResultWriterTest {

    @Test
    void commitCreatesTheFullDirectory(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run1");
        try (ResultWriter w = ResultWriter.open(out)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("a", 1);
            r.put("b", "x,y");
            r.put("formulas", List.of("f"));
            w.record(r);
            assertFalse(Files.exists(out), "nothing visible before commit");
            w.commit(Map.of("status", "ok"), Map.of("os", "test"));
        }
        assertEquals(List.of("{\"a\":1,\"b\":\"x,y\",\"formulas\":[\"f\"]}"), Files.readAllLines(out.resolve("results.jsonl")));
        assertEquals("a,b\n1,\"x,y\"\n", Files.readString(out.resolve("results.csv")));
        assertTrue(Files.readString(out.resolve("summary.json")).contains("\"ok\""));
        assertTrue(Files.exists(out.resolve("env.json")));
    }

    @Test
    void abandonedRunLeavesNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run2");
        try (ResultWriter w = ResultWriter.open(out)) {
            w.record(Map.of("a", 1));
        }
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "staging folder removed, target never created");
        }
    }

    @Test
    void refusesANonEmptyTarget(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("keep.txt"), "x");
        InputException e = assertThrows(InputException.class, () -> ResultWriter.open(dir));
        assertTrue(e.getMessage().contains("not empty"));
    }
}
