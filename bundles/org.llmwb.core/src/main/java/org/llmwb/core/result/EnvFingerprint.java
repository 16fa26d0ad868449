package org.llmwb.core.result;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a result came from: llmwb version and commit, OS, CPU, JVM, host, time, and the
 * accelerator (or its absence). Written as {@code env.json} beside every result.
 */
public final class EnvFingerprint {
    public static final String VERSION = "0.1.0";

    private EnvFingerprint() {
    }

    public static Map<String, Object> capture(Map<String, Object> device) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("llmwb", VERSION);
        e.put("commit", gitCommit());
        e.put("time", Instant.now().toString());
        e.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        e.put("arch", System.getProperty("os.arch"));
        e.put("cpus", Runtime.getRuntime().availableProcessors());
        e.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        e.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        e.put("jvmArgs", ManagementFactory.getRuntimeMXBean().getInputArguments());
        try {
            e.put("host", InetAddress.getLocalHost().getHostName());
        } catch (IOException ex) {
            e.put("host", "unknown");
        }
        e.put("device", device);
        return e;
    }

    /** The commit of the llmwb checkout (llmwb.repo.root or the working directory), or "unknown". */
    static String gitCommit() {
        String given = System.getProperty("llmwb.commit");
        if (given != null && !given.isBlank()) {
            return given.trim(); // e.g. on a GPU machine that got a copy of the tree without .git
        }
        Path dir = Path.of(System.getProperty("llmwb.repo.root", ".")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path head = d.resolve(".git/HEAD");
            if (Files.isRegularFile(head)) {
                try {
                    String h = Files.readString(head).trim();
                    if (h.startsWith("ref: ")) {
                        Path ref = d.resolve(".git").resolve(h.substring(5));
                        if (Files.isRegularFile(ref)) {
                            return Files.readString(ref).trim();
                        }
                        Path packed = d.resolve(".git/packed-refs");
                        if (Files.isRegularFile(packed)) {
                            for (String line : Files.readAllLines(packed)) {
                                if (line.endsWith(" " + h.substring(5))) {
                                    return line.substring(0, line.indexOf(' '));
                                }
                            }
                        }
                        return "unknown (" + h.substring(5) + ")";
                    }
                    return h;
                } catch (IOException ex) {
                    return "unknown";
                }
            }
        }
        return "unknown";
    }
}
