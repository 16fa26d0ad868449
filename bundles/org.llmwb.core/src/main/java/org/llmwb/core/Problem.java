package org.llmwb.core;

/**
 * One finding about user input or a configuration: where, how bad, what, and what to do about it.
 * Used by experiment validation and by the parallelism planner.
 */
public record Problem(Severity severity, SourceLocation location, String code, String message, String hint) {

    public enum Severity { ERROR, WARNING, INFO }

    public static Problem error(SourceLocation at, String code, String message, String hint) {
        return new Problem(Severity.ERROR, at, code, message, hint);
    }

    public static Problem warning(SourceLocation at, String code, String message, String hint) {
        return new Problem(Severity.WARNING, at, code, message, hint);
    }

    public static Problem info(SourceLocation at, String code, String message, String hint) {
        return new Problem(Severity.INFO, at, code, message, hint);
    }

    public boolean isError() {
        return severity == Severity.ERROR;
    }

    /** {@code file:line:col: error: message (hint)} as compilers print it. */
    @Override
    public String toString() {
        String where = location == null ? "" : location + ": ";
        return where + severity.name().toLowerCase() + ": " + message + (hint == null || hint.isEmpty() ? "" : " (" + hint + ")");
    }
}
