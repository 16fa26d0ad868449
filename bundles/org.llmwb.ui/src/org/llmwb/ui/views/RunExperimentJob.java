package org.llmwb.ui.views;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.jobs.Job;

/**
 * Runs one experiment in the runner as a workbench Job: progress comes from the runner's progress
 * events, cancelling the Job (progress view, status line, or the Cancel button) sends a cancel
 * request, and a failed run ends the Job with the runner's error.
 */
final class RunExperimentJob extends Job {
    static final String PLUGIN = "org.llmwb.ui";
    private final RunnerConnection runner;
    private final String id;
    private final String yaml;
    private final String source;
    private final java.nio.file.Path baseDir;
    private final String backend;
    private java.util.List<String> sets = java.util.List.of();
    private java.nio.file.Path out;
    volatile RunnerConnection.RunState state;

    /** @param baseDir folder relative model paths resolve against (the opened file's), or null */
    RunExperimentJob(RunnerConnection runner, String id, String yaml, String source, java.nio.file.Path baseDir, String backend) {
        super("Run experiment " + source + " (" + id + ")");
        this.runner = runner;
        this.id = id;
        this.yaml = yaml;
        this.source = source;
        this.baseDir = baseDir;
        this.backend = backend;
        setUser(true);
    }

    /** With KEY=VALUE overrides (a lesson's CPU or GPU sizes) and a result folder for the runner to write. */
    RunExperimentJob withSets(java.util.List<String> s, java.nio.file.Path folder) {
        this.sets = java.util.List.copyOf(s);
        this.out = folder;
        return this;
    }

    @Override
    protected IStatus run(IProgressMonitor monitor) {
        try {
            state = runner.run(id, yaml, source, baseDir, backend, sets, out);
        } catch (IOException e) {
            return Status.error("cannot start the run: " + e.getMessage(), e);
        }
        monitor.beginTask(getName(), 1000);
        int reported = 0;
        boolean cancelSent = false;
        try {
            while (!state.completed.await(100, TimeUnit.MILLISECONDS)) {
                if (monitor.isCanceled() && !cancelSent) {
                    runner.cancel(id);
                    cancelSent = true;
                    monitor.subTask("cancelling…");
                }
                if (state.total > 0) {
                    int now = (int) (1000 * state.done / state.total);
                    monitor.worked(now - reported);
                    reported = now;
                    monitor.subTask(state.done + " / " + state.total + " records");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Status.CANCEL_STATUS;
        } catch (IOException e) {
            return Status.error("lost the runner: " + e.getMessage(), e);
        } finally {
            monitor.done();
        }
        return switch (String.valueOf(state.status)) {
            case "ok" -> Status.OK_STATUS;
            case "cancelled" -> Status.CANCEL_STATUS;
            default -> new Status(IStatus.ERROR, PLUGIN, "run " + id + " failed: " + state.error);
        };
    }
}
