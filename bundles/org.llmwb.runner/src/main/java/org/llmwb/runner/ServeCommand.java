package org.llmwb.runner;

import java.util.concurrent.Callable;

import org.llmwb.core.InputException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", description = "Serve the runner protocol: JSON lines on stdin/stdout (docs/protocol.md).")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--stdio", description = "speak the JSON-lines protocol on stdin/stdout (used by the workbench, or over ssh)")
    boolean stdio;

    @Override
    public Integer call() throws Exception {
        if (!stdio) {
            throw new InputException("say how to serve: --stdio (the HTTP server arrives with the inference engine)");
        }
        return new StdioServer(System.in, System.out, common.catalog()).serve();
    }
}
