package org.llmwb.core;

import java.util.List;
import java.util.stream.Collectors;

/** Bad user input (a file, a flag, a name): carries every problem found, each with its location. */
public class InputException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient List<Problem> problems;

    public InputException(List<Problem> problems) {
        super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public InputException(SourceLocation at, String message) {
        this(List.of(Problem.error(at, "input", message, null)));
    }

    public InputException(String message) {
        this(List.of(Problem.error(null, "input", message, null)));
    }

    public List<Problem> problems() {
        return problems;
    }
}
