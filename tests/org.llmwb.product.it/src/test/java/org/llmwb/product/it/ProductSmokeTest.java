package org.llmwb.product.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Launches the materialized product through its own launch script (as {@code ./llmwb workbench}
 * does), lets the workbench open, and checks what its window shows: the perspective, the three
 * views, real numbers in the Memory & KV view and points on the roofline.
 */
class ProductSmokeTest {

    @Test
    void productStartsAndShowsTheInferencePerspective(@TempDir Path tmp) throws Exception {
        assumeTrue(System.getenv("DISPLAY") != null, "needs a display (run the build under xvfb-run)");
        Path product = Path.of(System.getProperty("llmwb.product.dir")).toAbsolutePath().normalize();
        Path script = product.resolve("llmwb-product.sh");
        assertTrue(Files.isExecutable(script), "materialized product with its launch script at " + product);
        assertTrue(Files.isRegularFile(product.resolve("runner/lib/org.llmwb.runner.jar")), "the runner travels with the product");
        Path report = tmp.resolve("smoke.json");
        ProcessBuilder pb = new ProcessBuilder(script.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("console.log").toFile());
        pb.environment().put("LLMWB_WORKSPACE", tmp.resolve("ws").toString());
        pb.environment().put("LLMWB_VM_ARGS", "-Dllmwb.smoke.out=" + report);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        long t0 = System.nanoTime();
        Process p = pb.start();
        boolean exited = p.waitFor(180, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String console = Files.readString(tmp.resolve("console.log"));
        assertTrue(exited, "the workbench did not close after the smoke report:\n" + console);
        assertTrue(Files.exists(report), "no smoke report; console:\n" + console);
        JsonNode r = new ObjectMapper().readTree(report.toFile());
        System.out.printf("product smoke: started in %d ms (JVM uptime at window open), %.1f s to exit; report %s%n",
                r.get("startupMillis").asLong(), (System.nanoTime() - t0) / 1e9, r);
        assertEquals("LLM Inference Workbench", r.get("title").asText());
        assertEquals("org.llmwb.ui.perspective.inference", r.get("perspective").asText());
        List<String> views = new ArrayList<>();
        r.get("views").forEach(v -> views.add(v.asText()));
        assertTrue(views.containsAll(List.of("org.llmwb.ui.views.memory", "org.llmwb.ui.views.roofline", "org.llmwb.ui.views.runner")), views.toString());
        assertTrue(r.get("memorySummary").asText().startsWith("Max concurrency: 56 sequences of 8192 tokens"), r.toString());
        assertEquals(2, r.get("rooflineMarkers").asInt());
        assertEquals(0, p.exitValue(), console);
        assertTrue(!console.contains("Exception") || !console.contains("org.llmwb"), "no llmwb exception on the console:\n" + console);
    }
}
