package org.llmwb.core;

/** A place in an input file, 1-based line and column; {@code line == 0} when unknown. */
public record SourceLocation(String source, int line, int column) {

    public static SourceLocation of(String source) {
        return new SourceLocation(source, 0, 0);
    }

    @Override
    public String toString() {
        return line > 0 ? source + ":" + line + ":" + column : source;
    }
}
