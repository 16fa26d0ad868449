package org.llmwb.core.result;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON and JSON-lines files a user hands in (traces, result records, prompt files), read with located errors: a file
 * that is not UTF-8 or cannot be read, and a line that is not one JSON object, name the file (and line).
 */
public final class JsonFiles {
    /** One object of a JSON-lines file and where it stands. */
    public record Line(int number, ObjectNode object, SourceLocation location) {
    }

    private JsonFiles() {
    }

    public static String readText(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new InputException(SourceLocation.of(f.toString()), "not UTF-8 text");
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(f.toString()), "cannot read: " + e.getMessage());
        }
    }

    /** One JSON object from {@code text} (a whole file or one line of one, at {@code at}). */
    public static ObjectNode object(String text, SourceLocation at) {
        JsonNode n;
        try {
            n = Json.parse(text);
        } catch (IOException | RuntimeException e) {
            throw new InputException(at, "not a JSON object: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) {
            throw new InputException(at, "expected a JSON object");
        }
        return (ObjectNode) n;
    }

    /** The objects of a JSON-lines file, blank lines skipped. */
    public static List<Line> lines(Path f) {
        String[] ls = readText(f).split("\n", -1);
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < ls.length; i++) {
            String line = ls[i].strip();
            if (!line.isEmpty()) {
                SourceLocation at = new SourceLocation(f.toString(), i + 1, 1);
                out.add(new Line(i + 1, object(line, at), at));
            }
        }
        return out;
    }
}
