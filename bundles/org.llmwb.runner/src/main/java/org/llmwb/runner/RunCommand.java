package org.llmwb.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.experiment.RecordText;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.experiment.ExperimentParser;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "run", description = "Run an experiment YAML (apiVersion: llmwb/v1) and write its result folder.")
final class RunCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "EXPERIMENT.yaml")
    Path file;
    @Option(names = {"-o", "--out"}, paramLabel = "DIR", description = "result folder (new or empty; default runs/<name>-<time>)")
    Path out;
    @Option(names = "--no-write", description = "stream records to stdout without writing a result folder")
    boolean noWrite;
    @Option(names = "--backend", paramLabel = "auto|cuda|cpu", description = "where a kernel sweep runs (default: the experiment's backend, "
            + "else the GPU when there is one and ND4J on the CPU otherwise)")
    String backend;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "fix a setting for this run (repeatable), e.g. --set speculative.method=ngram, "
            + "--set quantization.weights=int4, --set disaggregation.mode=disaggregated; a swept setting stops being swept")
    java.util.List<String> sets = new java.util.ArrayList<>();

    @Override
    public Integer call() throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputException(SourceLocation.of(file.toString()), "file not found");
        }
        if (backend != null && !java.util.Set.of("auto", "cuda", "cpu").contains(backend)) {
            throw new InputException("--backend is auto, cuda or cpu, not '" + backend + "'");
        }
        Experiment e = ExperimentParser.override(ExperimentParser.parse(text, file.toString(), file.toAbsolutePath().getParent(), common.catalog()), sets,
                common.catalog());
        Path target = noWrite ? null : out != null ? out
                : Path.of("runs", e.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        var stdout = spec.commandLine().getOut();
        var stderr = spec.commandLine().getErr();
        // Ctrl-C: stop between points and let the writer remove its staging folder before the JVM exits
        AtomicBoolean interrupted = new AtomicBoolean();
        java.util.concurrent.CountDownLatch cleanedUp = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            interrupted.set(true);
            try {
                cleanedUp.await(3, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        ExperimentExecutor.Outcome o;
        try {
            // the result folder keeps the file as run: overrides are recorded at its end
            String asRun = sets.isEmpty() ? text : text + (text.endsWith("\n") ? "" : "\n") + "# run with: " + String.join(" ", sets.stream().map(x -> "--set " + x).toList()) + "\n";
            o = ExperimentExecutor.run(e, asRun, common.catalog(), target, new ExperimentExecutor.Events() {
                @Override
                public void started(long total) {
                    stderr.println("running " + e.name() + " (" + e.kind() + " " + e.sweep().target() + ", " + total + " points)");
                }

                @Override
                public void record(long index, long total, Map<String, Object> record) {
                    if (noWrite && common.json) {
                        stdout.println(org.llmwb.core.result.Json.line(record));
                    } else if (total <= 50 && !common.json) {
                        stdout.println("[" + (index + 1) + "/" + total + "] " + RecordText.describe(record));
                    }
                }

                @Override
                public void progress(long done, long total) {
                    if (total > 50 && (done * 10 / total) != ((done - 1) * 10 / total)) {
                        stderr.println("  " + done + "/" + total);
                    }
                }
            }, interrupted::get, backend);
        } finally {
            cleanedUp.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // JVM already shutting down
            }
        }
        if (common.json && !noWrite) {
            Output.json(stdout, o.summary());
        } else if (o.out() != null) {
            stderr.println("wrote " + o.out() + " (" + o.records() + " records: results.jsonl, results.csv, summary.json, env.json)");
        }
        return o.status().equals("ok") ? 0 : 130;
    }
}
