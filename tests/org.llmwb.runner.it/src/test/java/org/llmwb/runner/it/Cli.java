package org.llmwb.runner.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.llmwb.core.protocol.RunnerClient;

/** Runs {@code llmwb} as a real child process from the runner's lib folder. */
final class Cli {
    record Result(int code, String out, String err) {
    }

    static Path lib() {
        return Path.of(System.getProperty("llmwb.runner.lib", "../../bundles/org.llmwb.runner/target/lib")).toAbsolutePath().normalize();
    }

    static Path repo() {
        return Path.of(System.getProperty("llmwb.repo.root", "../..")).toAbsolutePath().normalize();
    }

    static Result run(Path workDir, String... args) throws IOException, InterruptedException {
        return run(workDir, 60, args);
    }

    static Result run(Path workDir, int timeoutS, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(RunnerClient.command(RunnerClient.currentJava(), lib()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        pb.environment().put("HOME", workDir.toString()); // no user GPU file from the developer's home
        Process p = pb.start();
        p.getOutputStream().close();
        // read stderr on its own thread: a child that fills one pipe while we block on the other would hang
        java.util.concurrent.CompletableFuture<byte[]> errF = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        var out = p.getInputStream().readAllBytes();
        var err = errF.join();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("llmwb " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private Cli() {
    }
}
