package org.llmwb.core.protocol;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Starts {@code llmwb serve --stdio} as a child process and talks the protocol to it. Events arrive
 * on a reader thread (never the caller's); a dead runner is reported once through
 * {@link Listener#exited} with the tail of its stderr. Used by the workbench, which must never load
 * the runner's native libraries itself.
 */
public final class RunnerClient implements AutoCloseable {
    /** Callbacks run on the client's reader threads. */
    public interface Listener {
        void event(JsonNode event);

        /** The process ended (crash, kill, or shutdown); {@code stderrTail} holds its last lines. */
        void exited(int exitCode, String stderrTail);
    }

    private final Process process;
    private final BufferedWriter stdin;
    private final Deque<String> stderrTail = new ArrayDeque<>();

    private RunnerClient(Process process, Listener listener) {
        this.process = process;
        this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        Thread err = new Thread(() -> pumpStderr(), "llmwb-runner-stderr");
        err.setDaemon(true);
        err.start();
        Thread out = new Thread(() -> pumpStdout(listener), "llmwb-runner-stdout");
        out.setDaemon(true);
        out.start();
    }

    /**
     * Starts the runner from a folder of jars (the product's {@code runner/lib}, or the build's
     * {@code bundles/org.llmwb.runner/target/lib}) with the given Java executable.
     */
    public static RunnerClient start(Path javaExecutable, Path libDir, Listener listener) throws IOException {
        List<String> cmd = command(javaExecutable, libDir);
        cmd.add("serve");
        cmd.add("--stdio");
        return start(cmd, listener);
    }

    /**
     * Starts a runner with any command that ends up speaking the protocol on stdin/stdout, e.g. a
     * remote one: {@code ssh gpu-host /opt/llmwb/llmwb serve --stdio}.
     */
    public static RunnerClient start(List<String> command, Listener listener) throws IOException {
        if (command.isEmpty()) {
            throw new IOException("empty runner command");
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(false);
        return new RunnerClient(pb.start(), listener);
    }

    /** Splits a command line on spaces, keeping "double-quoted parts" together. */
    public static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (char c : line.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (Character.isWhitespace(c) && !quoted) {
                if (any) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    any = false;
                }
            } else {
                cur.append(c);
                any = true;
            }
        }
        if (any) {
            out.add(cur.toString());
        }
        return out;
    }

    /** {@code java [flags] -cp lib/* org.llmwb.runner.Main}; fails clearly when the folder has no runner. */
    public static List<String> command(Path javaExecutable, Path libDir) throws IOException {
        if (!Files.isDirectory(libDir)) {
            throw new IOException("runner libraries not found at " + libDir + " (build with ./mvnw package, or set -Dllmwb.runner.lib)");
        }
        List<String> jars = new ArrayList<>();
        try (Stream<Path> s = Files.list(libDir)) {
            s.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> jars.add(p.toString()));
        }
        if (jars.stream().noneMatch(j -> j.contains("org.llmwb.runner"))) {
            throw new IOException("no org.llmwb.runner jar in " + libDir);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable.toString());
        cmd.add("-Xss4m");
        cmd.add("--enable-native-access=ALL-UNNAMED"); // the runner may load JCuda's and ND4J's native libraries
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow"); // ND4J's JavaCPP uses sun.misc.Unsafe (JDK 17-22 reject this flag)
        }
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, jars));
        cmd.add("org.llmwb.runner.Main");
        return cmd;
    }

    /** The java that runs this JVM: the runner uses the same runtime as the workbench. */
    public static Path currentJava() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    public synchronized void send(ObjectNode request) throws IOException {
        stdin.write(Json.line(request));
        stdin.newLine();
        stdin.flush();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    private void pumpStdout(Listener listener) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode ev;
                try {
                    ev = Json.parse(line);
                } catch (IOException e) {
                    ev = Json.object().put("event", Protocol.EV_LOG).put("level", "warn").put("message", "non-protocol output: " + line);
                }
                listener.event(ev);
            }
        } catch (IOException e) {
            // stream closed: the process is gone; reported below
        }
        int code;
        try {
            code = process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = -1;
        }
        try {
            Thread.sleep(50); // let the stderr pump drain
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.exited(code, stderrTail());
    }

    private void pumpStderr() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (stderrTail) {
                    stderrTail.addLast(line);
                    if (stderrTail.size() > 40) {
                        stderrTail.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }

    public String stderrTail() {
        synchronized (stderrTail) {
            return String.join("\n", stderrTail);
        }
    }

    /** Asks the runner to shut down, then kills it if it has not exited within a second. */
    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                send(Protocol.request(Protocol.OP_SHUTDOWN, null));
                if (!process.waitFor(1, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (IOException e) {
                process.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** Kills the runner at once (a hung runner). */
    public void kill() {
        process.destroyForcibly();
    }
}
