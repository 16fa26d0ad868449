package org.llmwb.runner.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpServer;

/**
 * The benchmark client's own ceiling: requests per second {@link BenchClient} completes against a local server that
 * answers instantly (a 16-token SSE stream, no model), so the client, not the server, is the bottleneck. Each
 * setting runs a warm-up pass, then three timed passes; the median and range are printed.
 *
 * <pre>java -cp 'lib/*' org.llmwb.runner.http.BenchOverhead [requests per pass] [concurrency ...]</pre>
 */
public final class BenchOverhead {
    private BenchOverhead() {
    }

    public static void main(String[] args) throws Exception {
        // as llmwb serve does: small SSE writes go out at once instead of waiting for Nagle's algorithm and delayed ACKs
        System.setProperty("sun.net.httpserver.nodelay", "true");
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 4000;
        int[] levels = args.length > 1 ? java.util.Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray() : new int[] {1, 8, 64};
        byte[] chunk = "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"x\"}}]}\n\n".getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 8, \"completion_tokens\": 16}}\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                ex.getResponseHeaders().add("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                OutputStream out = ex.getResponseBody();
                for (int i = 0; i < 16; i++) {
                    out.write(chunk);
                    out.flush();
                }
                out.write(tail);
            } catch (IOException e) {
                // the client went away: nothing to answer
            }
        });
        server.start();
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
        System.out.printf(Locale.ROOT, "%d CPUs, Java %s; %d requests per pass, 16-token streams from an instant local server%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), requests);
        try {
            for (int c : levels) {
                BenchClient client = new BenchClient(new BenchClient.Config(base, "m", true, true, null, 16, true, Duration.ofSeconds(60)));
                BenchClient.Load load = new BenchClient.Load(requests, 0, c, 0, 1, 0, 1);
                client.run(new BenchClient.Load(Math.min(requests, 500), 0, c, 0, 1, 0, 1), i -> new BenchClient.Prompt("hello", 1), r -> {
                });
                double[] rps = new double[3];
                int errors = 0;
                for (int k = 0; k < 3; k++) {
                    long t0 = System.nanoTime();
                    List<BenchClient.Result> rs = client.run(load, i -> new BenchClient.Prompt("hello", 1), r -> {
                    });
                    rps[k] = rs.size() / ((System.nanoTime() - t0) / 1e9);
                    errors += (int) rs.stream().filter(r -> !r.ok()).count();
                }
                java.util.Arrays.sort(rps);
                System.out.printf(Locale.ROOT, "{\"concurrency\": %d, \"requestsPerS\": %.0f, \"min\": %.0f, \"max\": %.0f, \"tokensPerS\": %.0f, \"errors\": %d}%n", c, rps[1],
                        rps[0], rps[2], rps[1] * 16, errors);
            }
        } finally {
            server.stop(0);
        }
    }
}
