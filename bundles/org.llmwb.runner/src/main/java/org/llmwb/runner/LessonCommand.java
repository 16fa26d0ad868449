package org.llmwb.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.llmwb.backend.cuda.CudaProbe;
import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.experiment.ExperimentParser;
import org.llmwb.core.lesson.Lesson;
import org.llmwb.core.lesson.LessonCoach;
import org.llmwb.core.lesson.LessonParser;
import org.llmwb.core.lesson.LessonState;
import org.llmwb.core.yaml.YNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "lesson", description = "Guided lessons: list them, show one, run one in the terminal (predict, run, observe, quiz), reset one.",
        subcommands = {LessonCommand.ListCmd.class, LessonCommand.ShowCmd.class, LessonCommand.RunCmd.class, LessonCommand.ResetCmd.class})
final class LessonCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The lessons folder: --lessons, else ./lessons, else the checkout's (beside the runner's jars). */
    static Path lessonsDir(Path given) {
        if (given != null) {
            return given;
        }
        Path here = Path.of("lessons");
        if (Files.isDirectory(here)) {
            return here;
        }
        String root = System.getProperty("llmwb.root");
        if (root != null && Files.isDirectory(Path.of(root, "lessons"))) {
            return Path.of(root, "lessons");
        }
        throw new InputException("no lessons folder here; run from the checkout or pass --lessons DIR");
    }

    /** The learner's home for progress and run folders: $HOME when set (as shells and tests set it), else Java's user.home. */
    static Path home() {
        String h = System.getenv("HOME");
        return Path.of(h != null && !h.isBlank() ? h : System.getProperty("user.home"));
    }

    static List<Lesson> all(Path dir) throws IOException {
        List<Lesson> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path d : s.sorted().toList()) {
                if (Files.isRegularFile(d.resolve("lesson.yaml"))) {
                    out.add(LessonParser.parse(d.resolve("lesson.yaml")));
                }
            }
        }
        return out;
    }

    static Lesson find(Path dir, String id) throws IOException {
        for (Lesson l : all(dir)) {
            if (l.id().equals(id) || l.dir().getFileName().toString().equals(id)) {
                return l;
            }
        }
        throw new InputException("no lesson '" + id + "' in " + dir + " (llmwb lesson list)");
    }

    /** The options that name one lesson: its id and where the lessons are. */
    static final class Which {
        @Option(names = "--lessons", paramLabel = "DIR", description = "the lessons folder (default: ./lessons)")
        Path lessons;
        @Parameters(paramLabel = "ID", description = "the lesson's id or folder name (llmwb lesson list)")
        String id;

        Lesson lesson() throws IOException {
            return find(lessonsDir(lessons), id);
        }
    }

    @Command(name = "list", description = "The lessons: id, title, level, minutes, what they need.")
    static final class ListCmd implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;
        @Option(names = "--lessons", paramLabel = "DIR")
        Path lessons;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            Path home = home();
            for (Lesson l : all(lessonsDir(lessons))) {
                LessonState st = LessonState.load(l, LessonState.file(home, l.id()));
                String progress = st.step() == 0 ? "" : st.step() >= l.steps().size() ? "  [done]" : "  [step " + st.step() + "/" + l.steps().size() + "]";
                out.printf(Locale.ROOT, "%-26s %-62s %-12s %3d min  %s%s%n", l.id(), l.title(), l.level(), l.minutes(), l.needs().equals("any") ? "CPU or GPU" : l.needs().toUpperCase(),
                        progress);
            }
            return 0;
        }
    }

    @Command(name = "show", description = "A lesson's summary and steps.")
    static final class ShowCmd implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;
        @Mixin
        Which which;

        @Override
        public Integer call() throws IOException {
            Lesson l = which.lesson();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s — %s (%s, %d min, %s)%n%s%n%n", l.id(), l.title(), l.level(), l.minutes(), l.needs(), l.summary());
            int i = 1;
            for (Lesson.Step s : l.steps()) {
                out.printf("%2d. %s%n", i++, describe(s));
            }
            return 0;
        }
    }

    static String describe(Lesson.Step s) {
        return switch (s) {
            case Lesson.Read r -> "read    " + r.page().getFileName();
            case Lesson.Predict p -> "predict";
            case Lesson.Run r -> "run     " + r.experiment().getFileName();
            case Lesson.Observe o -> "observe " + o.value() + " in the " + o.view() + " view";
            case Lesson.Quiz q -> "quiz    " + q.questions().size() + " questions";
            case Lesson.Try t -> "try";
        };
    }

    @Command(name = "reset", description = "Forget a lesson's progress (answers, score, runs).")
    static final class ResetCmd implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;
        @Mixin
        Which which;

        @Override
        public Integer call() throws IOException {
            Lesson l = which.lesson();
            Files.deleteIfExists(LessonState.file(home(), l.id()));
            spec.commandLine().getOut().println("progress of " + l.id() + " reset");
            return 0;
        }
    }

    @Command(name = "run", description = {"Walk a lesson in the terminal: pages, predictions, runs (sizes for this machine: CPU or GPU, as the lesson declares),",
            "observations against your predictions, the quiz. --answers FILE answers every prompt (a YAML map of step/question id: answer) for a",
            "non-interactive run; the run fails (exit 1) when a measured value leaves a range the lesson's text claims."})
    static final class RunCmd implements Callable<Integer> {
        @Mixin
        CommonOptions common;
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;
        @Mixin
        Which which;
        @Option(names = "--answers", paramLabel = "FILE", description = "answers for every prompt (YAML/JSON map: id → number, option letter(s) or settings)")
        Path answersFile;
        @Option(names = "--size", defaultValue = "auto", description = "cpu, gpu or auto (the GPU sizes when this machine has one; default: ${DEFAULT-VALUE})")
        String size;
        @Option(names = "--restart", description = "start from the first step (keeps no earlier answers)")
        boolean restart;

        private PrintWriter out;
        private BufferedReader in;
        private YNode answers;

        @Override
        public Integer call() throws IOException {
            Lesson l = which.lesson();
            out = spec.commandLine().getOut();
            boolean gpu = switch (size) {
                case "cpu" -> false;
                case "gpu" -> true;
                case "auto" -> CudaProbe.probe().available();
                default -> throw new InputException("--size is cpu, gpu or auto, not '" + size + "'");
            };
            if (gpu && !CudaProbe.probe().available()) {
                throw new InputException("--size gpu needs a GPU, but there is none here (" + CudaProbe.probe().reason() + ")");
            }
            if (l.needs().equals("gpu") && !gpu) {
                throw new InputException("lesson " + l.id() + " needs a GPU (its runs are GPU kernels); this machine has none: " + CudaProbe.probe().reason());
            }
            answers = answersFile == null ? null : YNode.read(answersFile);
            in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            Path home = home();
            Path file = LessonState.file(home, l.id());
            LessonState st = restart ? new LessonState(l) : LessonState.load(l, file);
            if (st.step() >= l.steps().size()) {
                st = new LessonState(l); // finished before: walk it again
            }
            out.printf("%n== %s — %s (%s, about %d min; %s sizes) ==%n%s%n", l.id(), l.title(), l.level(), l.minutes(), gpu ? "GPU" : "CPU", l.summary());
            for (int i = st.step(); i < l.steps().size(); i++) {
                Lesson.Step s = l.steps().get(i);
                out.printf("%n-- step %d of %d: %s%n", i + 1, l.steps().size(), describe(s));
                step(st, s, gpu, home);
                st.step(i + 1);
                st.save(file);
            }
            int[] score = st.score();
            out.printf("%n== done: quiz %d/%d; progress in %s ==%n", score[0], score[1], file);
            List<String> broken = st.brokenClaims();
            broken.forEach(b -> spec.commandLine().getErr().println("llmwb lesson: " + b));
            return broken.isEmpty() ? 0 : 1;
        }

        private void step(LessonState st, Lesson.Step s, boolean gpu, Path home) throws IOException {
            switch (s) {
                case Lesson.Read r -> out.println(st.page(r.page()).strip());
                case Lesson.Predict p -> {
                    out.println(p.prompt());
                    if (p.options().isEmpty()) {
                        double v = number(ask(p.id(), "your prediction (a number)"), p.id());
                        st.answer(p.id(), v, null);
                        out.println("noted: " + v + " (the run will tell)");
                    } else {
                        listOptions(p.options());
                        int k = letter(ask(p.id(), "your choice (a letter)"), p.options().size(), p.id());
                        st.answer(p.id(), k, null);
                    }
                }
                case Lesson.Run r -> run(st, r, gpu, home);
                case Lesson.Observe o -> {
                    out.printf("In the workbench: the %s view. The figure that matters: %s = %s%n", o.view(), o.value(), st.formatted(o.value()));
                    String verdict = LessonCoach.verdict(st, o);
                    if (verdict != null) {
                        out.println(verdict);
                    }
                    out.println(LessonCoach.fill(st, o.explain()).strip());
                }
                case Lesson.Quiz q -> {
                    for (Lesson.Question x : q.questions()) {
                        quiz(st, x);
                    }
                }
                case Lesson.Try t -> tryIt(st, t, home);
            }
        }

        private void run(LessonState st, Lesson.Run r, boolean gpu, Path home) {
            List<String> sets = gpu ? r.gpu() : r.cpu();
            Experiment e = ExperimentParser.override(ExperimentParser.parseFile(r.experiment(), common.catalog()), sets, common.catalog());
            String text;
            try {
                text = Files.readString(r.experiment());
            } catch (IOException ex) {
                throw new InputException(SourceLocation.of(r.experiment().toString()), ex.getMessage());
            }
            Path folder = home.resolve(".llmwb").resolve("lessons").resolve(st.lesson().id()).resolve("runs")
                    .resolve(r.id() + "-" + java.time.LocalDateTime.now().format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            List<Map<String, Object>> records = new ArrayList<>();
            PrintWriter err = spec.commandLine().getErr();
            out.println("running " + r.experiment().getFileName() + (sets.isEmpty() ? "" : " with " + String.join(" ", sets)) + " ...");
            ExperimentExecutor.Outcome o = ExperimentExecutor.run(e, text, common.catalog(), folder, collecting(records, err), () -> false, null);
            if (!"ok".equals(o.status())) {
                throw new InputException("run " + r.id() + " did not complete: " + o.status());
            }
            st.runDone(r.id(), records, o.out());
            out.printf("%d records in %s%n", records.size(), o.out());
            for (Lesson.Value v : st.lesson().values().values()) {
                if (r.id().equals(v.run()) || v.over() != null && st.value(v.name()) != null && (r.id().equals(st.lesson().values().get(v.field()).run()) || r.id().equals(st.lesson().values().get(v.over()).run()))) {
                    out.printf("  %-28s %s%n", v.name(), st.formatted(v.name()));
                }
            }
        }

        /** Events that keep every record, and draw a progress bar on {@code err} when given. */
        private static ExperimentExecutor.Events collecting(List<Map<String, Object>> records, PrintWriter err) {
            return new ExperimentExecutor.Events() {
                @Override
                public void started(long total) {
                }

                @Override
                public void record(long index, long total, Map<String, Object> record) {
                    records.add(record);
                }

                @Override
                public void progress(long done, long total) {
                    if (err == null) {
                        return;
                    }
                    int w = 30;
                    int fill = (int) (w * done / Math.max(1, total));
                    err.printf("\r  [%s%s] %d/%d", "#".repeat(fill), ".".repeat(w - fill), done, total);
                    err.flush();
                    if (done == total) {
                        err.println();
                    }
                }
            };
        }

        private void quiz(LessonState st, Lesson.Question q) throws IOException {
            out.println("Q: " + q.question());
            LessonCoach.Graded g;
            if (q.type().equals("numeric")) {
                g = LessonCoach.gradeNumber(st, q, number(ask(q.id(), "a number"), q.id()));
            } else {
                listOptions(q.options());
                String a = ask(q.id(), q.type().equals("single") ? "one letter" : "letters, comma-separated");
                java.util.Set<Integer> picked = new java.util.TreeSet<>();
                for (String part : a.split("[,\\s]+")) {
                    if (!part.isBlank()) {
                        picked.add(letter(part, q.options().size(), q.id()));
                    }
                }
                if (q.type().equals("single") && picked.size() != 1) {
                    throw new InputException("question " + q.id() + " takes one letter, got '" + a + "'");
                }
                g = LessonCoach.gradeChoice(st, q, picked);
                for (int i : picked) {
                    out.println("  " + (char) ('a' + i) + ") " + q.options().get(i).why());
                }
            }
            st.answer(q.id(), g.given(), g.right());
            out.println(g.right() ? "Right. " + g.explanation() : "Not quite (answer: " + g.correctText() + "). " + g.explanation());
        }

        private void tryIt(LessonState st, Lesson.Try t, Path home) {
            out.println(t.prompt());
            Map<String, String> given = new java.util.LinkedHashMap<>();
            for (String k : t.ask()) {
                given.put(k, ask(t.id() + "." + k, k));
            }
            String yaml = LessonCoach.tryExperiment(t, given);
            Experiment e = ExperimentParser.parse(yaml, st.lesson().id() + ":" + t.id(), st.lesson().dir(), common.catalog());
            List<Map<String, Object>> recs = new ArrayList<>();
            ExperimentExecutor.run(e, yaml, common.catalog(), null, collecting(recs, null), () -> false, null);
            Map<String, Object> r = recs.get(0);
            List<String> fails = LessonCoach.tryFailures(t, r);
            st.answer(t.id(), new java.util.LinkedHashMap<String, Object>(given), fails.isEmpty());
            List<String> sets = new ArrayList<>();
            t.fixed().forEach((k, v) -> sets.add(k + "=" + v));
            given.forEach((k, v) -> sets.add(k + "=" + v.strip()));
            out.println(fails.isEmpty() ? "It works: " + String.join(" ", sets) + " — " + LessonCoach.trySummary(t, r) : "Not yet: " + String.join("; ", fails));
        }

        private void listOptions(List<Lesson.Option> opts) {
            for (int i = 0; i < opts.size(); i++) {
                out.println("  " + (char) ('a' + i) + ") " + opts.get(i).text());
            }
        }

        /** The answer to a prompt: from --answers, else a line typed on standard input. */
        private String ask(String id, String what) {
            if (answers != null) {
                YNode a = answers.get(id);
                if (a == null) {
                    throw new InputException(answers.location(), "the answers file has no answer for '" + id + "' (" + what + ")");
                }
                String v = a.isList() ? String.join(",", a.items().stream().map(YNode::text).toList()) : a.text();
                out.println("> " + v + "   (from " + answersFile.getFileName() + ")");
                return v;
            }
            out.print(what + "> ");
            out.flush();
            try {
                String line = in.readLine();
                if (line == null) {
                    throw new InputException("no answer for '" + id + "' (standard input ended); pass --answers FILE to run without prompts");
                }
                return line;
            } catch (IOException e) {
                throw new InputException("cannot read the answer: " + e.getMessage());
            }
        }

        private static double number(String s, String id) {
            try {
                return Double.parseDouble(s.strip().replace(",", "").replace("_", ""));
            } catch (NumberFormatException e) {
                throw new InputException("'" + s + "' is not a number (answer to " + id + ")");
            }
        }

        private static int letter(String s, int n, String id) {
            String t = s.strip().toLowerCase(Locale.ROOT);
            if (t.length() != 1 || t.charAt(0) < 'a' || t.charAt(0) >= 'a' + n) {
                throw new InputException("'" + s + "' is not one of the letters a.." + (char) ('a' + n - 1) + " (answer to " + id + ")");
            }
            return t.charAt(0) - 'a';
        }
    }
}
