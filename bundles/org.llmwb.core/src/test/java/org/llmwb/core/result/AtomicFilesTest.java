package org.llmwb.core.result;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReplacesLeavingNoTemporaryFiles() throws Exception {
        Path f = dir.resolve("plot.svg");
        AtomicFiles.write(f, "first");
        AtomicFiles.write(f, "second");
        assertEquals("second", Files.readString(f));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void aMissingFolderFailsWithoutWritingAnything() {
        assertThrows(java.io.IOException.class, () -> AtomicFiles.write(dir.resolve("no/such/dir/x.png"), new byte[] {1}));
    }
}
