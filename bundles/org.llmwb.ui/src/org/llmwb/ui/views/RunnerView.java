package org.llmwb.ui.views;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.jobs.IJobChangeEvent;
import org.eclipse.core.runtime.jobs.JobChangeAdapter;
import org.eclipse.jface.resource.JFaceResources;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.ProgressBar;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.experiment.RecordText;
import org.llmwb.core.protocol.Protocol;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Runner: starts {@code llmwb serve --stdio} as a child process (the workbench never loads the
 * runner's native libraries), sends the experiment in the editor, and shows the streamed events.
 * A dead runner is reported with its last stderr line and can be started again; a runner that
 * stops answering pings is shown as not responding.
 */
public class RunnerView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.runner";
    static final int MAX_ROWS = 2000;
    public static final String DEFAULT_EXPERIMENT = """
            apiVersion: llmwb/v1
            kind: calculator
            metadata:
              name: kv-growth
              description: KV bytes of Llama-3.1-8B as context and batch grow
            spec:
              calculator: kv
              model: llama-3.1-8b
              kvPrecision: bf16
              sweep:
                context: [1024, 8192, 32768]
                batch: [1, 8, 32]
            """;

    private final RunnerConnection runner = new RunnerConnection();
    private final AtomicInteger runCounter = new AtomicInteger();
    private static final String[] BACKEND_LABELS = {"auto (GPU if any, else CPU)", "GPU (our CUDA kernels)", "CPU (ND4J)"};
    private static final String[] BACKENDS = {"auto", "cuda", "cpu"};
    private Label status;
    private Combo backend;
    private Button start;
    private Button stop;
    private Button run;
    private Button cancel;
    private Label source;
    private Text runnerCommand;
    private Text experiment;
    private ProgressBar progress;
    private Table table;
    private Label runStatus;
    private RunExperimentJob current;
    private Path experimentBase;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite bar = new Composite(parent, SWT.NONE);
        bar.setLayout(new GridLayout(10, false));
        bar.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        start = button(bar, "Start runner", this::startRunner);
        stop = button(bar, "Stop runner", this::stopRunner);
        new Label(bar, SWT.NONE).setText("Runner:");
        runnerCommand = new Text(bar, SWT.BORDER);
        runnerCommand.setMessage("local");
        runnerCommand.setToolTipText("empty: the local runner. Or a command that starts one elsewhere and speaks the protocol on stdin/stdout,\n"
                + "e.g. ssh gpu-host /opt/llmwb/llmwb serve --stdio (experiments' relative paths then resolve on that machine).\n"
                + "Takes effect when the runner (re)starts.");
        runnerCommand.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        runnerCommand.addListener(SWT.Modify, e -> {
            String t = runnerCommand.getText().trim();
            runner.command = t.isEmpty() ? null : org.llmwb.core.protocol.RunnerClient.split(t);
        });
        button(bar, "Open experiment…", this::openFile);
        new Label(bar, SWT.NONE).setText("Kernels on:");
        backend = new Combo(bar, SWT.READ_ONLY);
        backend.setItems(BACKEND_LABELS);
        backend.select(0);
        backend.setToolTipText("where kernel sweeps run: the GPU when the runner's machine has one, else the CPU through ND4J");
        run = button(bar, "Run", this::runExperiment);
        cancel = button(bar, "Cancel", this::cancelRun);
        progress = new ProgressBar(bar, SWT.SMOOTH);
        progress.setLayoutData(new GridData(160, SWT.DEFAULT));

        status = new Label(parent, SWT.NONE);
        status.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));

        Composite body = new Composite(parent, SWT.NONE);
        body.setLayout(new GridLayout(2, true));
        body.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        Composite left = new Composite(body, SWT.NONE);
        left.setLayout(new GridLayout(1, false));
        left.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        source = new Label(left, SWT.NONE);
        source.setText("experiment (built-in example; edit or open a file):");
        experiment = new Text(left, SWT.MULTI | SWT.BORDER | SWT.V_SCROLL | SWT.H_SCROLL);
        experiment.setFont(JFaceResources.getTextFont());
        experiment.setText(DEFAULT_EXPERIMENT);
        experiment.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));

        Composite right = new Composite(body, SWT.NONE);
        right.setLayout(new GridLayout(1, false));
        right.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        runStatus = new Label(right, SWT.WRAP);
        runStatus.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        table = new Table(right, SWT.BORDER | SWT.FULL_SELECTION | SWT.V_SCROLL);
        table.setHeaderVisible(true);
        table.setLinesVisible(true);
        table.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        for (String[] c : new String[][] {{"event", "90"}, {"run", "50"}, {"details", "520"}}) {
            TableColumn col = new TableColumn(table, SWT.NONE);
            col.setText(c[0]);
            col.setWidth(Integer.parseInt(c[1]));
        }
        updateButtons();
        tick();
    }

    private static Button button(Composite parent, String text, Runnable action) {
        Button b = new Button(parent, SWT.PUSH);
        b.setText(text);
        b.addListener(SWT.Selection, e -> action.run());
        return b;
    }

    /** Drains queued events into the table every 100 ms and checks the runner's health. */
    private void tick() {
        if (table.isDisposed()) {
            return;
        }
        drain();
        updateButtons();
        table.getDisplay().timerExec(100, this::tick);
    }

    private long lastPing;

    private void drain() {
        JsonNode e;
        int added = 0;
        table.setRedraw(false);
        try {
            while ((e = runner.events.poll()) != null && added < 500) {
                addRow(e);
                added++;
            }
            int extra = table.getItemCount() - MAX_ROWS;
            if (extra > 0) {
                table.remove(0, extra - 1);
            }
        } finally {
            table.setRedraw(true);
        }
        if (added > 0) {
            table.showItem(table.getItem(table.getItemCount() - 1));
        }
        if (runner.alive() && System.nanoTime() - lastPing > 2_000_000_000L) {
            lastPing = System.nanoTime();
            try {
                runner.ping();
            } catch (IOException ex) {
                // reported by the exit message below
            }
        }
    }

    /** Engine steps come many per second: one row per 50 (the batching timeline view will draw them all). */
    private String stepRow(JsonNode st) {
        int i = st.path("step").asInt();
        if (i % 50 != 0) {
            return null;
        }
        long prefills = 0;
        for (JsonNode p : st.path("parts")) {
            if ("prefill".equals(p.path("kind").asText())) {
                prefills++;
            }
        }
        return String.format(java.util.Locale.ROOT, "step %d: %d prefill chunk(s), %d tokens; %d decodes; %d waiting; KV %d/%d blocks (%.1f ms)", i, prefills,
                st.path("prefillTokens").asInt(), st.path("decodeTokens").asInt(), st.path("waiting").asInt(), st.path("kv").path("usedBlocks").asInt(),
                st.path("kv").path("totalBlocks").asInt(), st.path("seconds").asDouble() * 1e3);
    }

    private void addRow(JsonNode e) {
        String type = e.path("event").asText();
        String details = switch (type) {
            case Protocol.EV_HELLO -> "runner " + e.path("version").asText() + ", protocol " + e.path("protocol").asText();
            case Protocol.EV_STARTED -> e.path("experiment").asText() + ": " + e.path("total").asText() + " points";
            case Protocol.EV_RECORD -> {
                @SuppressWarnings("unchecked")
                java.util.Map<String, Object> rec = Json.MAPPER.convertValue(e.path("record"), java.util.Map.class);
                if (LiveKernelRun.isKernelRecord(rec)) {
                    LiveKernelRun.get().add(e.path("id").asText(""), rec);
                } else if (LiveEngineRun.isEngineRecord(rec)) {
                    LiveEngineRun.get().record(e.path("id").asText(""), rec);
                }
                yield RecordText.describe(rec);
            }
            case Protocol.EV_PROGRESS -> e.path("done").asText() + " / " + e.path("total").asText();
            case Protocol.EV_ERROR -> e.path("message").asText() + RunnerConnection.problems(e).replace('\n', ' ');
            case Protocol.EV_COMPLETED -> e.path("status").asText() + ", " + e.path("records").asText() + " records"
                    + (e.has("out") ? " → " + e.path("out").asText() : "");
            case Protocol.EV_PONG -> null;
            case Protocol.EV_STEP -> {
                LiveEngineRun.get().step(e.path("id").asText(""), e.path("point").asInt(), e.path("step"));
                yield stepRow(e.path("step"));
            }
            default -> e.toString();
        };
        if (details == null) {
            return;
        }
        if (type.equals(Protocol.EV_COMPLETED) || type.equals(Protocol.EV_ERROR)) {
            LiveKernelRun.get().finish(e.path("id").asText(""), type.equals(Protocol.EV_ERROR) ? "failed" : e.path("status").asText());
            LiveEngineRun.get().finish(e.path("id").asText(""), type.equals(Protocol.EV_ERROR) ? "failed" : e.path("status").asText());
        }
        if (type.equals(Protocol.EV_PROGRESS) && e.path("total").asLong() > 0) {
            progress.setSelection((int) (100 * e.path("done").asLong() / e.path("total").asLong()));
        }
        TableItem it = new TableItem(table, SWT.NONE);
        it.setText(new String[] {type, e.path("id").asText(""), details});
        if (type.equals(Protocol.EV_ERROR)) {
            it.setForeground(table.getDisplay().getSystemColor(SWT.COLOR_RED));
        }
    }

    private void updateButtons() {
        boolean alive = runner.alive();
        boolean running = current != null && current.getResult() == null;
        start.setEnabled(!alive);
        stop.setEnabled(alive);
        run.setEnabled(!running); // Run starts the runner when needed
        cancel.setEnabled(running);
        String s;
        if (alive) {
            double silent = runner.silentSeconds();
            s = silent > 8 ? "runner (pid " + runner.pid() + ") not responding for " + (int) silent + " s: stop and restart it"
                    : "runner running (pid " + runner.pid() + (runner.command != null ? ", " + String.join(" ", runner.command) : "") + ")";
        } else {
            s = runner.exitMessage() != null ? runner.exitMessage() + " (press Start runner to restart)" : "runner not started";
        }
        if (!s.equals(status.getText())) {
            status.setText(s);
            status.getParent().layout();
        }
    }

    /** Starts the runner child process (idempotent). */
    public void startRunner() {
        try {
            runner.start();
        } catch (IOException e) {
            runStatus.setText("Cannot start the runner: " + e.getMessage());
        }
        updateButtons();
    }

    public void stopRunner() {
        runner.kill();
    }

    /** Puts an experiment (text and the file it belongs to) into the view, ready to run. */
    public void load(String text, Path file) {
        experiment.setText(text);
        experimentBase = file.toAbsolutePath().getParent();
        source.setText("experiment: " + file);
        source.getParent().layout();
    }

    private void openFile() {
        FileDialog d = new FileDialog(experiment.getShell(), SWT.OPEN);
        d.setFilterExtensions(new String[] {"*.yaml;*.yml", "*"});
        String f = d.open();
        if (f == null) {
            return;
        }
        try {
            experiment.setText(Files.readString(Path.of(f)));
            experimentBase = Path.of(f).toAbsolutePath().getParent();
            source.setText("experiment: " + f);
        } catch (IOException | RuntimeException e) {
            runStatus.setText("Cannot read " + f + ": " + e.getMessage());
        }
    }

    /** Sends the editor's experiment to the runner as a Job; returns the job (for tests). */
    public RunExperimentJobHandle runExperiment() {
        String id = "r" + runCounter.incrementAndGet();
        String name = source.getText().startsWith("experiment: ") ? source.getText().substring(12) : "workbench.llmwb.yaml";
        RunExperimentJob job = new RunExperimentJob(runner, id, experiment.getText(), name, experimentBase, BACKENDS[Math.max(0, backend.getSelectionIndex())]);
        submit(job, id, "running " + id + "…");
        return new RunExperimentJobHandle(job, id);
    }

    /**
     * Runs a lesson's experiment (its file's text, the lesson's size overrides, a result folder under the learner's
     * lesson progress) through this view's runner, so the Runner, Latency, Batching and Kernel views show it live.
     */
    RunExperimentJob runLessonExperiment(String yaml, Path file, java.util.List<String> sets, Path out, String backendId) {
        String id = "lesson" + runCounter.incrementAndGet();
        load(yaml, file);
        RunExperimentJob job = new RunExperimentJob(runner, id, yaml, file.toString(), file.toAbsolutePath().getParent(), backendId).withSets(sets, out);
        submit(job, id, "running " + id + " (lesson)…");
        return job;
    }

    /** Starts the runner if needed, schedules the job, and reports its end in the status line. */
    private void submit(RunExperimentJob job, String id, String status) {
        if (!runner.alive()) {
            startRunner();
        }
        current = job;
        progress.setSelection(0);
        runStatus.setText(status);
        job.addJobChangeListener(new JobChangeAdapter() {
            @Override
            public void done(IJobChangeEvent event) {
                IStatus st = event.getResult();
                if (!runStatus.isDisposed()) {
                    runStatus.getDisplay().asyncExec(() -> {
                        if (runStatus.isDisposed()) {
                            return;
                        }
                        runStatus.setText(st.isOK() ? "run " + id + " finished" : st.getSeverity() == IStatus.CANCEL ? "run " + id + " cancelled" : st.getMessage());
                        runStatus.setForeground(st.getSeverity() == IStatus.ERROR ? runStatus.getDisplay().getSystemColor(SWT.COLOR_RED) : null);
                        runStatus.getParent().layout();
                        updateButtons();
                    });
                }
            }
        });
        job.schedule();
        updateButtons();
    }

    private void cancelRun() {
        if (current != null) {
            current.cancel();
        }
    }

    /** What tests need of a run job without reaching into the job class. */
    public record RunExperimentJobHandle(org.eclipse.core.runtime.jobs.Job job, String id) {
    }

    @Override
    public void setFocus() {
        experiment.setFocus();
    }

    @Override
    public void dispose() {
        runner.close();
        super.dispose();
    }

    // --- for tests ---
    public Table table() {
        return table;
    }

    public String statusText() {
        return status.getText();
    }

    public String runStatusText() {
        return runStatus.getText();
    }

    /** Selects where kernel sweeps run: "auto", "cuda" or "cpu". */
    public void selectBackend(String b) {
        backend.select(java.util.Arrays.asList(BACKENDS).indexOf(b));
    }

    /** The runner command field (empty: local). */
    public Text runnerCommandText() {
        return runnerCommand;
    }

    public Text experimentText() {
        return experiment;
    }

    public boolean runnerAlive() {
        return runner.alive();
    }
}
