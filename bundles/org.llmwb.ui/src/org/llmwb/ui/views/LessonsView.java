package org.llmwb.ui.views;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Platform;
import org.eclipse.core.runtime.jobs.IJobChangeEvent;
import org.eclipse.core.runtime.jobs.JobChangeAdapter;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.custom.ScrolledComposite;
import org.eclipse.swt.custom.StyleRange;
import org.eclipse.swt.custom.StyledText;
import org.eclipse.swt.graphics.Font;
import org.eclipse.swt.graphics.FontData;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.eclipse.ui.IViewPart;
import org.eclipse.ui.IWorkbenchPage;
import org.eclipse.ui.PartInitException;
import org.eclipse.ui.part.ViewPart;
import org.eclipse.ui.progress.IWorkbenchSiteProgressService;
import org.llmwb.core.InputException;
import org.llmwb.core.lesson.Lesson;
import org.llmwb.core.lesson.LessonCoach;
import org.llmwb.core.lesson.LessonParser;
import org.llmwb.core.lesson.LessonState;
import org.llmwb.core.lesson.MarkdownDoc;

/**
 * The guided lessons: the catalog (time, level, what each needs), a lesson's steps with progress, and the current
 * step — a rendered page, a prediction, a run through the Runner view (a cancellable Job; the engine views show it
 * live), an observation that opens and highlights the view that shows the figure, a quiz, or an open exercise whose
 * check runs the planner. Progress is the same file {@code llmwb lesson run} keeps
 * ({@code ~/.llmwb/lessons/<id>/progress.json}), saved after every answer and run.
 */
public class LessonsView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.lessons";
    private static final Map<String, String> VIEW_IDS = Map.of("memory", MemoryKvView.ID, "roofline", RooflineView.ID, "kernel-results", KernelResultsView.ID,
            "kv-cache", KvCacheView.ID, "batching-timeline", BatchingTimelineView.ID, "latency", LatencyView.ID, "runner", RunnerView.ID);

    private final List<Lesson> lessons = new ArrayList<>();
    private Table catalog;
    private Table steps;
    private Label title;
    private Label score;
    private Combo sizes;
    private ScrolledComposite scroller;
    private Composite body;
    private Button back;
    private Button next;
    private LessonState state;
    private Font bold;
    private Font mono;
    private Font h1;
    private Font h2;
    /** The last status or verdict shown in the step pane (tests read it). */
    private String lastMessage = "";
    private RunExperimentJob runningJob;

    /** Where the lessons are: -Dllmwb.lessons, else a lessons/ folder above the install location or the working directory. */
    public static Path lessonsDir() {
        String p = System.getProperty("llmwb.lessons");
        if (p != null) {
            return Path.of(p);
        }
        List<Path> starts = new ArrayList<>();
        try {
            starts.add(Path.of(Platform.getInstallLocation().getURL().toURI()));
        } catch (Exception e) {
            // no install location (tests): the working directory below
        }
        starts.add(Path.of("").toAbsolutePath());
        for (Path s : starts) {
            for (Path d = s; d != null; d = d.getParent()) {
                if (Files.isDirectory(d.resolve("lessons")) && Files.isRegularFile(d.resolve("lessons").resolve("README.md"))) {
                    return d.resolve("lessons");
                }
            }
        }
        return Path.of("lessons");
    }

    static Path home() {
        return Path.of(System.getProperty("user.home"));
    }

    @Override
    public void createPartControl(Composite parent) {
        FontData fd = parent.getFont().getFontData()[0];
        bold = new Font(parent.getDisplay(), fd.getName(), fd.getHeight(), SWT.BOLD);
        h1 = new Font(parent.getDisplay(), fd.getName(), Math.round(fd.getHeight() * 1.5f), SWT.BOLD);
        h2 = new Font(parent.getDisplay(), fd.getName(), Math.round(fd.getHeight() * 1.2f), SWT.BOLD);
        mono = new Font(parent.getDisplay(), "Monospace", fd.getHeight(), SWT.NORMAL);
        SashForm sash = new SashForm(parent, SWT.HORIZONTAL);
        Composite left = new Composite(sash, SWT.NONE);
        left.setLayout(new GridLayout(1, false));
        catalog = new Table(left, SWT.BORDER | SWT.FULL_SELECTION | SWT.SINGLE);
        catalog.setHeaderVisible(true);
        catalog.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        for (String[] c : new String[][] {{"Lesson", "260"}, {"Level", "90"}, {"Min", "45"}, {"Needs", "55"}, {"Done", "60"}}) {
            TableColumn col = new TableColumn(catalog, SWT.LEFT);
            col.setText(c[0]);
            col.setWidth(Integer.parseInt(c[1]));
        }
        catalog.addListener(SWT.Selection, e -> open(catalog.getSelectionIndex()));
        Composite right = new Composite(sash, SWT.NONE);
        right.setLayout(new GridLayout(1, false));
        Composite top = new Composite(right, SWT.NONE);
        top.setLayout(new GridLayout(4, false));
        top.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        title = new Label(top, SWT.WRAP);
        title.setFont(bold);
        title.setText("Pick a lesson on the left.");
        GridData td = new GridData(SWT.FILL, SWT.TOP, true, false, 4, 1);
        td.widthHint = 300; // wraps to the pane's width instead of widening it
        title.setLayoutData(td);
        Label grow = new Label(top, SWT.NONE);
        grow.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        new Label(top, SWT.NONE).setText("Run sizes:");
        sizes = new Combo(top, SWT.READ_ONLY);
        sizes.setItems("CPU (this machine)", "GPU (CUDA)");
        sizes.select(0);
        score = new Label(top, SWT.NONE);
        score.setText("          ");
        steps = new Table(right, SWT.BORDER | SWT.FULL_SELECTION | SWT.SINGLE);
        GridData sd = new GridData(SWT.FILL, SWT.TOP, true, false);
        sd.heightHint = 150;
        steps.setLayoutData(sd);
        steps.addListener(SWT.Selection, e -> goTo(steps.getSelectionIndex()));
        scroller = new ScrolledComposite(right, SWT.V_SCROLL | SWT.BORDER);
        scroller.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        scroller.setExpandHorizontal(true);
        scroller.setExpandVertical(true);
        scroller.addListener(SWT.Resize, e -> relayout());
        Composite nav = new Composite(right, SWT.NONE);
        nav.setLayout(new GridLayout(3, false));
        back = new Button(nav, SWT.PUSH);
        back.setText("< Back");
        back.addListener(SWT.Selection, e -> goTo(state.step() - 1));
        next = new Button(nav, SWT.PUSH);
        next.setText("Next >");
        next.addListener(SWT.Selection, e -> goTo(state.step() + 1));
        Button reset = new Button(nav, SWT.PUSH);
        reset.setText("Reset lesson");
        reset.addListener(SWT.Selection, e -> reset());
        sash.setWeights(30, 70);
        loadCatalog();
        showStep();
        resumeLast();
    }

    /** After a restart: the lesson the learner last had open, at the step its progress file reached. */
    private void resumeLast() {
        int i = indexOf(LessonState.last(home()));
        if (i >= 0) {
            open(i);
        }
    }

    /** The catalog row of the lesson with this id, or -1 (an unknown or null id: a lesson removed since). */
    private int indexOf(String id) {
        for (int i = 0; id != null && i < lessons.size(); i++) {
            if (lessons.get(i) != null && lessons.get(i).id().equals(id)) {
                return i;
            }
        }
        return -1;
    }

    private void loadCatalog() {
        lessons.clear();
        catalog.removeAll();
        Path dir = lessonsDir();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(d -> d.resolve("lesson.yaml")).filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            title.setText("No lessons found at " + dir + " (" + e.getMessage() + ")");
            return;
        }
        for (Path f : files) {
            try {
                Lesson l = LessonParser.parse(f);
                lessons.add(l);
                TableItem it = new TableItem(catalog, SWT.NONE);
                it.setText(new String[] {l.title(), l.level(), String.valueOf(l.minutes()), l.needs(), progressText(l)});
            } catch (InputException e) {
                TableItem it = new TableItem(catalog, SWT.NONE);
                it.setText(new String[] {f.getParent().getFileName() + ": invalid — " + e.getMessage(), "", "", "", ""});
                lessons.add(null);
            }
        }
    }

    private static String progressText(Lesson l) {
        Path f = LessonState.file(home(), l.id());
        if (!Files.isRegularFile(f)) {
            return "";
        }
        LessonState st = LessonState.load(l, f);
        return (st.step() + 1 >= l.steps().size() ? "✓ " : "") + Math.min(st.step() + 1, l.steps().size()) + "/" + l.steps().size();
    }

    /** Opens lesson {@code i} of the catalog at the step its saved progress reached. */
    public void open(int i) {
        if (i < 0 || i >= lessons.size() || lessons.get(i) == null) {
            return;
        }
        Lesson l = lessons.get(i);
        Path f = LessonState.file(home(), l.id());
        state = Files.isRegularFile(f) ? LessonState.load(l, f) : new LessonState(l);
        try {
            LessonState.rememberLast(home(), l.id());
        } catch (IOException e) {
            Platform.getLog(LessonsView.class).warn("cannot remember the open lesson for the next start: " + e.getMessage());
        }
        catalog.setSelection(i);
        title.setText(l.title() + " — " + l.level() + ", about " + l.minutes() + " min, needs " + l.needs());
        title.getParent().layout();
        steps.removeAll();
        for (Lesson.Step s : l.steps()) {
            new TableItem(steps, SWT.NONE);
        }
        showStep();
    }

    /** Opens the lesson with this id. */
    public void openLesson(String id) {
        int i = indexOf(id);
        if (i < 0) {
            throw new IllegalArgumentException("no lesson " + id);
        }
        open(i);
    }

    private void goTo(int k) {
        if (state == null || k < 0 || k >= state.lesson().steps().size()) {
            return;
        }
        state.step(k);
        save();
        showStep();
    }

    private void reset() {
        if (state == null) {
            return;
        }
        try {
            Files.deleteIfExists(LessonState.file(home(), state.lesson().id()));
        } catch (IOException e) {
            message("cannot reset: " + e.getMessage());
        }
        state = new LessonState(state.lesson());
        save();
        showStep();
    }

    private void save() {
        try {
            state.save(LessonState.file(home(), state.lesson().id()));
        } catch (IOException e) {
            message("progress not saved: " + e.getMessage());
        }
        int idx = lessons.indexOf(state.lesson());
        if (idx >= 0) {
            catalog.getItem(idx).setText(4, progressText(state.lesson()));
        }
    }

    private void showStep() {
        if (body != null) {
            body.dispose();
        }
        body = new Composite(scroller, SWT.NONE);
        body.setLayout(new GridLayout(1, false));
        scroller.setContent(body);
        lastMessage = "";
        if (state == null) {
            back.setEnabled(false);
            next.setEnabled(false);
            new Label(body, SWT.WRAP).setText(lessons.isEmpty() ? "No lessons." : "Pick a lesson on the left: " + lessons.size() + " lessons, from prefill vs decode to benchmarking.");
            relayout();
            return;
        }
        List<Lesson.Step> all = state.lesson().steps();
        for (int i = 0; i < all.size(); i++) {
            steps.getItem(i).setText((i < state.step() ? "✓ " : i == state.step() ? "▶ " : "   ") + (i + 1) + ". " + describe(all.get(i)));
        }
        steps.setSelection(state.step());
        int[] sc = state.score();
        score.setText("quiz " + sc[0] + "/" + sc[1]);
        score.getParent().layout();
        back.setEnabled(state.step() > 0);
        next.setEnabled(state.step() + 1 < all.size());
        try {
            switch (all.get(state.step())) {
                case Lesson.Read r -> page(body, state.page(r.page()));
                case Lesson.Predict p -> predict(p);
                case Lesson.Run r -> run(r);
                case Lesson.Observe o -> observe(o);
                case Lesson.Quiz q -> quiz(q);
                case Lesson.Try t -> tryIt(t);
            }
        } catch (IOException | RuntimeException e) {
            message("This step cannot be shown: " + e.getMessage());
        }
        relayout();
    }

    private void relayout() {
        if (body == null || body.isDisposed()) {
            return;
        }
        int w = Math.max(200, scroller.getClientArea().width);
        scroller.setMinSize(body.computeSize(w, SWT.DEFAULT));
        body.layout(true, true);
    }

    private static String describe(Lesson.Step s) {
        return switch (s) {
            case Lesson.Read r -> "Read: " + r.page().getFileName();
            case Lesson.Predict p -> "Predict: " + p.id();
            case Lesson.Run r -> "Run: " + r.experiment().getFileName();
            case Lesson.Observe o -> "Observe: " + o.value() + " in " + o.view();
            case Lesson.Quiz q -> "Quiz: " + q.questions().size() + " questions";
            case Lesson.Try t -> "Try: " + t.id();
        };
    }

    // ---- the step kinds

    /** A Markdown page rendered as styled text (headings, emphasis, code, lists, quotes, tables). */
    private void page(Composite parent, String markdown) {
        StyledText t = new StyledText(parent, SWT.READ_ONLY | SWT.WRAP);
        t.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        StringBuilder sb = new StringBuilder();
        List<StyleRange> ranges = new ArrayList<>();
        for (MarkdownDoc.Block b : MarkdownDoc.parse(markdown).blocks()) {
            int start = sb.length();
            switch (b.kind()) {
                case HEADING -> {
                    sb.append(b.text());
                    StyleRange r = new StyleRange(start, b.text().length(), null, null);
                    r.font = b.level() <= 1 ? h1 : h2;
                    ranges.add(r);
                }
                case CODE -> {
                    sb.append(b.text());
                    StyleRange r = new StyleRange(start, b.text().length(), null, t.getDisplay().getSystemColor(SWT.COLOR_WIDGET_LIGHT_SHADOW));
                    r.font = mono;
                    ranges.add(r);
                }
                case TABLE -> table(sb, ranges, b.rows());
                case RULE -> sb.append("──────────");
                default -> {
                    String prefix = b.kind() == MarkdownDoc.Kind.BULLET ? "    ".repeat(Math.max(0, b.level() - 1)) + (b.marker().isEmpty() ? "  " : b.marker()) + " "
                            : b.kind() == MarkdownDoc.Kind.QUOTE ? "│ " : "";
                    sb.append(prefix).append(b.text());
                    for (MarkdownDoc.Run run : b.runs()) {
                        StyleRange r = new StyleRange();
                        r.start = start + prefix.length() + run.start();
                        r.length = run.length();
                        switch (run.style()) {
                            case BOLD -> r.fontStyle = SWT.BOLD;
                            case ITALIC -> r.fontStyle = SWT.ITALIC;
                            case CODE -> r.font = mono;
                            case LINK -> {
                                r.underline = true;
                                r.foreground = t.getDisplay().getSystemColor(SWT.COLOR_LINK_FOREGROUND);
                            }
                        }
                        ranges.add(r);
                    }
                    if (b.kind() == MarkdownDoc.Kind.QUOTE) {
                        ranges.add(0, new StyleRange(start, sb.length() - start, t.getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY), null));
                    }
                }
            }
            sb.append(b.kind() == MarkdownDoc.Kind.BULLET ? "\n" : "\n\n");
        }
        t.setText(sb.toString().stripTrailing());
        // nested runs (bold inside a link, a quote's colour) are applied in order: later ones refine earlier ones
        ranges.sort((a, b) -> Integer.compare(a.start, b.start));
        for (StyleRange r : ranges) {
            if (r.start + r.length <= t.getCharCount()) {
                t.setStyleRange(r);
            }
        }
    }

    private void table(StringBuilder sb, List<StyleRange> ranges, List<List<String>> rows) {
        int cols = rows.stream().mapToInt(List::size).max().orElse(0);
        int[] w = new int[cols];
        for (List<String> r : rows) {
            for (int c = 0; c < r.size(); c++) {
                w[c] = Math.max(w[c], r.get(c).length());
            }
        }
        int start = sb.length();
        for (int i = 0; i < rows.size(); i++) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < cols; c++) {
                String cell = c < rows.get(i).size() ? rows.get(i).get(c) : "";
                line.append(cell).append(" ".repeat(w[c] - cell.length())).append(c + 1 < cols ? " │ " : "");
            }
            int ls = sb.length();
            sb.append(line).append('\n');
            if (i == 0) {
                StyleRange r = new StyleRange(ls, line.length(), null, null);
                r.fontStyle = SWT.BOLD;
                r.font = mono;
                ranges.add(r);
            }
        }
        StyleRange all = new StyleRange(start, sb.length() - start, null, null);
        all.font = mono;
        ranges.add(all);
    }

    /** Layout data for a control that wraps its text to the pane's width (radio and check options, labels). */
    private static GridData wrapping() {
        GridData gd = new GridData(SWT.FILL, SWT.TOP, true, false);
        gd.widthHint = 400;
        return gd;
    }

    private Label wrapLabel(Composite parent, String text) {
        Label l = new Label(parent, SWT.WRAP);
        l.setText(text);
        GridData gd = new GridData(SWT.FILL, SWT.TOP, true, false);
        gd.widthHint = 400;
        l.setLayoutData(gd);
        return l;
    }

    /** A saved quiz answer as the learner gave it: option letters or the number, and whether it was right. */
    private String answeredBefore(Lesson.Question x) {
        Object a = state.answer(x.id());
        String given;
        if (a instanceof List<?> picked) {
            given = picked.stream().map(o -> o instanceof Number n ? (char) ('a' + n.intValue()) + ")" : String.valueOf(o)).collect(java.util.stream.Collectors.joining(" "));
        } else {
            given = String.valueOf(a);
        }
        Boolean ok = state.correct(x.id());
        return "Answered before: " + given + (ok == null ? "" : ok ? " — right" : " — not right");
    }

    private Label message(String text) {
        lastMessage = text;
        return wrapLabel(body, text);
    }

    private void predict(Lesson.Predict p) {
        wrapLabel(body, p.prompt()).setFont(bold);
        Object before = state.answer(p.id());
        List<Button> radios = new ArrayList<>();
        Text number = null;
        if (p.options().isEmpty()) {
            number = new Text(body, SWT.BORDER);
            number.setLayoutData(new GridData(160, SWT.DEFAULT));
            number.setMessage("a number");
            if (before != null) {
                number.setText(String.valueOf(before));
            }
        } else {
            for (int i = 0; i < p.options().size(); i++) {
                Button b = new Button(body, SWT.RADIO | SWT.WRAP);
                b.setText((char) ('a' + i) + ") " + p.options().get(i).text());
                b.setLayoutData(wrapping());
                b.setSelection(before instanceof Number n && n.intValue() == i);
                radios.add(b);
            }
        }
        Button save = new Button(body, SWT.PUSH);
        save.setText("Save my prediction");
        Label result = wrapLabel(body, before == null ? "Predict before you run: the answer is kept and compared with what you measure." : "Your prediction is saved: "
                + shown(p, before) + ".");
        Text num = number;
        save.addListener(SWT.Selection, e -> {
            try {
                if (num != null) {
                    double v = Double.parseDouble(num.getText().strip().replace(",", "").replace("_", ""));
                    state.answer(p.id(), v, null);
                } else {
                    int k = radios.indexOf(radios.stream().filter(Button::getSelection).findFirst().orElseThrow(() -> new IllegalArgumentException("pick one option")));
                    state.answer(p.id(), k, null);
                }
                save();
                lastMessage = "saved: " + shown(p, state.answer(p.id())) + " — the run will tell";
            } catch (NumberFormatException ex) {
                lastMessage = "'" + num.getText() + "' is not a number";
            } catch (IllegalArgumentException ex) {
                lastMessage = ex.getMessage();
            }
            result.setText(lastMessage);
            relayout();
        });
    }

    private static String shown(Lesson.Predict p, Object answer) {
        return p.options().isEmpty() || !(answer instanceof Number n) ? String.valueOf(answer) : p.options().get(n.intValue()).text();
    }

    private boolean gpuSizes() {
        return sizes.getSelectionIndex() == 1;
    }

    private void run(Lesson.Run r) {
        List<String> sets = gpuSizes() ? r.gpu() : r.cpu();
        wrapLabel(body, "Run " + r.experiment().getFileName() + (sets.isEmpty() ? "" : " with " + String.join(" ", sets)) + " — " + (gpuSizes() ? "GPU sizes, on CUDA" : "CPU sizes, on this machine")
                + ". It goes through the Runner view; the Latency, Batching Timeline, KV Cache and Kernel Results views show it as it runs.");
        Button go = new Button(body, SWT.PUSH);
        go.setText(state.hasRun(r.id()) ? "Run again" : "Run");
        Label status = wrapLabel(body, state.hasRun(r.id()) ? "Done before: results in " + state.runFolders().get(r.id()) : "Not run yet.");
        Composite values = new Composite(body, SWT.NONE);
        values.setLayout(new GridLayout(2, false));
        showValues(values, r.id());
        go.addListener(SWT.Selection, e -> {
            try {
                String yaml = Files.readString(r.experiment());
                Path out = home().resolve(".llmwb").resolve("lessons").resolve(state.lesson().id()).resolve("runs")
                        .resolve(r.id() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
                RunnerView rv = (RunnerView) getSite().getPage().showView(RunnerView.ID, null, IWorkbenchPage.VIEW_VISIBLE);
                RunExperimentJob job = rv.runLessonExperiment(yaml, r.experiment(), sets, out, gpuSizes() ? "cuda" : "cpu");
                runningJob = job;
                go.setEnabled(false);
                status.setText(lastMessage = "running…");
                LessonState st = state;
                job.addJobChangeListener(new JobChangeAdapter() {
                    @Override
                    public void done(IJobChangeEvent event) {
                        IStatus res = event.getResult();
                        if (catalog.isDisposed()) {
                            return;
                        }
                        catalog.getDisplay().asyncExec(() -> finished(st, r, job, res));
                    }
                });
            } catch (IOException | PartInitException ex) {
                status.setText(lastMessage = "cannot run: " + ex.getMessage());
            }
            relayout();
        });
    }

    private void finished(LessonState st, Lesson.Run r, RunExperimentJob job, IStatus res) {
        runningJob = null;
        if (res.isOK() && job.state != null) {
            st.runDone(r.id(), new ArrayList<>(job.state.records), job.state.out == null ? null : Path.of(job.state.out));
            List<String> broken = st.brokenClaims();
            lastMessage = job.state.records.size() + " records" + (job.state.out == null ? "" : " in " + job.state.out)
                    + (broken.isEmpty() ? "" : "\nNote: " + String.join("\n", broken));
            if (st == state) {
                save();
            }
        } else {
            lastMessage = res.getSeverity() == IStatus.CANCEL ? "cancelled" : "the run failed: " + res.getMessage();
        }
        if (st == state && !body.isDisposed() && st.lesson().steps().get(st.step()) == r) {
            String msg = lastMessage;
            showStep();
            lastMessage = msg;
            wrapLabel(body, msg);
            relayout();
        }
    }

    private void showValues(Composite parent, String runId) {
        for (Lesson.Value v : state.lesson().values().values()) {
            String run = v.over() != null ? state.lesson().values().get(v.field()).run() : v.run();
            if (runId.equals(run) && state.hasRun(runId)) {
                new Label(parent, SWT.NONE).setText(v.name());
                Label val = new Label(parent, SWT.NONE);
                val.setText(state.formatted(v.name()));
                val.setFont(bold);
            }
        }
    }

    private void observe(Lesson.Observe o) {
        Double v = state.value(o.value());
        if (v == null) {
            message("This observation needs the run before it: go back and press Run.");
        }
        Label fig = wrapLabel(body, o.value() + " = " + state.formatted(o.value()));
        fig.setFont(h2);
        String verdict = LessonCoach.verdict(state, o);
        if (verdict != null) {
            message(verdict).setFont(bold);
        }
        page(body, LessonCoach.fill(state, o.explain()));
        Button show = new Button(body, SWT.PUSH);
        show.setText("Show in the " + o.view() + " view");
        show.addListener(SWT.Selection, e -> highlight(o));
    }

    /**
     * Opens the view the observation is about and highlights it the Eclipse way (its tab is marked as changed and
     * the view is brought to the front); the layout observation switches to the Parallelism Layout perspective.
     */
    public IViewPart highlight(Lesson.Observe o) {
        try {
            if (o.view().equals("layout")) {
                getSite().getWorkbenchWindow().getWorkbench().showPerspective(org.llmwb.ui.LayoutPerspective.ID, getSite().getWorkbenchWindow());
                lastMessage = "opened the Parallelism Layout perspective";
                return null;
            }
            IViewPart view = getSite().getPage().showView(VIEW_IDS.get(o.view()), null, IWorkbenchPage.VIEW_VISIBLE);
            IWorkbenchSiteProgressService p = view.getSite().getService(IWorkbenchSiteProgressService.class);
            if (p != null) {
                p.warnOfContentChange();
            }
            lastMessage = "look at " + o.value() + " in the " + view.getTitle() + " view";
            return view;
        } catch (org.eclipse.ui.WorkbenchException ex) {
            lastMessage = "cannot open the view: " + ex.getMessage();
            return null;
        }
    }

    private void quiz(Lesson.Quiz q) {
        for (Lesson.Question x : q.questions()) {
            Composite box = new Composite(body, SWT.NONE);
            box.setLayout(new GridLayout(1, false));
            box.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
            wrapLabel(box, x.question()).setFont(bold);
            List<Button> picks = new ArrayList<>();
            Text number = null;
            if (x.type().equals("numeric")) {
                number = new Text(box, SWT.BORDER);
                number.setLayoutData(new GridData(160, SWT.DEFAULT));
            } else {
                for (int i = 0; i < x.options().size(); i++) {
                    Button b = new Button(box, (x.type().equals("single") ? SWT.RADIO : SWT.CHECK) | SWT.WRAP);
                    b.setText((char) ('a' + i) + ") " + x.options().get(i).text());
                    b.setLayoutData(wrapping());
                    picks.add(b);
                }
            }
            Button check = new Button(box, SWT.PUSH);
            check.setText("Check");
            Label result = wrapLabel(box, state.answer(x.id()) == null ? "" : answeredBefore(x));
            Text num = number;
            check.addListener(SWT.Selection, e -> {
                try {
                    LessonCoach.Graded g;
                    if (num != null) {
                        g = LessonCoach.gradeNumber(state, x, Double.parseDouble(num.getText().strip().replace(",", "")));
                    } else {
                        Set<Integer> picked = new TreeSet<>();
                        for (int i = 0; i < picks.size(); i++) {
                            if (picks.get(i).getSelection()) {
                                picked.add(i);
                            }
                        }
                        if (picked.isEmpty()) {
                            throw new IllegalArgumentException("pick an answer");
                        }
                        g = LessonCoach.gradeChoice(state, x, picked);
                        StringBuilder why = new StringBuilder();
                        for (int i : picked) {
                            why.append((char) ('a' + i)).append(") ").append(x.options().get(i).why()).append('\n');
                        }
                        g = new LessonCoach.Graded(g.right(), g.given(), g.correctText(), why + g.explanation());
                    }
                    state.answer(x.id(), g.given(), g.right());
                    save();
                    lastMessage = (g.right() ? "Right. " : "Not quite (answer: " + g.correctText() + "). ") + g.explanation();
                    int[] sc = state.score();
                    score.setText("quiz " + sc[0] + "/" + sc[1]);
                } catch (NumberFormatException ex) {
                    lastMessage = "not a number";
                } catch (IllegalArgumentException ex) {
                    lastMessage = ex.getMessage();
                }
                result.setText(lastMessage);
                relayout();
            });
        }
    }

    private void tryIt(Lesson.Try t) {
        wrapLabel(body, t.prompt()).setFont(bold);
        if (!t.fixed().isEmpty()) {
            wrapLabel(body, "Given: " + t.fixed());
        }
        Composite form = new Composite(body, SWT.NONE);
        form.setLayout(new GridLayout(2, false));
        Map<String, Text> fields = new LinkedHashMap<>();
        Object before = state.answer(t.id());
        for (String k : t.ask()) {
            new Label(form, SWT.NONE).setText(k);
            Text f = new Text(form, SWT.BORDER);
            f.setLayoutData(new GridData(200, SWT.DEFAULT));
            if (before instanceof Map<?, ?> m && m.get(k) != null) {
                f.setText(String.valueOf(m.get(k)));
            }
            fields.put(k, f);
        }
        Button check = new Button(body, SWT.PUSH);
        check.setText("Check my plan");
        Label result = wrapLabel(body, "");
        check.addListener(SWT.Selection, e -> {
            Map<String, String> given = new LinkedHashMap<>();
            fields.forEach((k, f) -> given.put(k, f.getText()));
            try {
                String yaml = LessonCoach.tryExperiment(t, given);
                RunnerView rv = (RunnerView) getSite().getPage().showView(RunnerView.ID, null, IWorkbenchPage.VIEW_VISIBLE);
                Path file = state.lesson().dir().resolve(t.id() + ".try.yaml");
                RunExperimentJob job = rv.runLessonExperiment(yaml, file, List.of(), null, "cpu");
                result.setText(lastMessage = "checking…");
                LessonState st = state;
                job.addJobChangeListener(new JobChangeAdapter() {
                    @Override
                    public void done(IJobChangeEvent event) {
                        catalog.getDisplay().asyncExec(() -> {
                            if (result.isDisposed()) {
                                return;
                            }
                            if (!event.getResult().isOK() || job.state == null || job.state.records.isEmpty()) {
                                lastMessage = "the plan could not be computed: " + event.getResult().getMessage();
                            } else {
                                Map<String, Object> rec = job.state.records.get(0);
                                List<String> fails = LessonCoach.tryFailures(t, rec);
                                st.answer(t.id(), new LinkedHashMap<String, Object>(given), fails.isEmpty());
                                if (st == state) {
                                    save();
                                }
                                lastMessage = fails.isEmpty() ? "It works — " + LessonCoach.trySummary(t, rec) : "Not yet: " + String.join("; ", fails);
                            }
                            result.setText(lastMessage);
                            relayout();
                        });
                    }
                });
            } catch (InputException | PartInitException ex) {
                result.setText(lastMessage = ex.getMessage());
            }
            relayout();
        });
    }

    @Override
    public void setFocus() {
        catalog.setFocus();
    }

    @Override
    public void dispose() {
        for (Font f : new Font[] {bold, mono, h1, h2}) {
            if (f != null) {
                f.dispose();
            }
        }
        super.dispose();
    }

    // ---- for tests

    public LessonState state() {
        return state;
    }

    public String lastMessage() {
        return lastMessage;
    }

    public Composite stepBody() {
        return body;
    }

    public Table stepsTable() {
        return steps;
    }

    public Table catalogTable() {
        return catalog;
    }

    /** The run job in flight, if any (tests wait on it). */
    public org.eclipse.core.runtime.jobs.Job runningJob() {
        return runningJob;
    }

    /** Every control of the step pane, depth first (tests find buttons and fields by text). */
    public List<Control> stepControls() {
        List<Control> out = new ArrayList<>();
        collect(body, out);
        return out;
    }

    private static void collect(Control c, List<Control> out) {
        out.add(c);
        if (c instanceof Composite comp) {
            for (Control k : comp.getChildren()) {
                collect(k, out);
            }
        }
    }
}
