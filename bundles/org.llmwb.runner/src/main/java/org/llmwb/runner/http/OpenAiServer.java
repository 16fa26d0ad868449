package org.llmwb.runner.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.llmwb.core.result.Json;
import org.llmwb.engine.serve.EngineLoop;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An OpenAI-compatible HTTP API over one {@link EngineLoop}: {@code GET /v1/models}, {@code POST /v1/completions}
 * and {@code POST /v1/chat/completions}, each streamed as server-sent events when {@code "stream": true}.
 * Every request goes through the same scheduler, so concurrent clients are batched together. Malformed
 * requests get a 4xx with OpenAI's error object ({@code {"error": {"message", "type", "param", "code"}}}).
 * Extensions: {@code top_k} and {@code ignore_eos}; {@code GET /llmwb/stats} reports steps and the largest batch.
 */
public final class OpenAiServer implements AutoCloseable {
    static final int MAX_BODY = 8 << 20;

    private final EngineLoop loop;
    private final BpeTokenizer tok;
    /** The checkpoint's chat template (null: none, and chat prompts use the built-in fallback format). */
    private final org.llmwb.engine.tokenizer.ChatTemplate chatTemplate;
    /** Token ids that end a completion besides EOS: generation_config.json's eos_token_id(s) and the template's eos_token. */
    private final Set<Integer> extraStops = new HashSet<>();
    private final String modelId;
    private final int eos;
    private final HttpServer http;
    private final ExecutorService pool;
    private final long created = System.currentTimeMillis() / 1000;
    private final java.io.PrintWriter log;

    public OpenAiServer(EngineLoop loop, BpeTokenizer tok, String modelId, String host, int port, java.io.PrintWriter log) throws IOException {
        this(loop, tok, null, Set.of(), modelId, host, port, log);
    }

    /**
     * @param chatTemplate the checkpoint's chat template, or null
     * @param stopIds further stop token ids (generation_config.json's eos_token_id)
     */
    public OpenAiServer(EngineLoop loop, BpeTokenizer tok, org.llmwb.engine.tokenizer.ChatTemplate chatTemplate, Set<Integer> stopIds, String modelId, String host,
            int port, java.io.PrintWriter log) throws IOException {
        this.loop = loop;
        this.tok = tok;
        this.chatTemplate = chatTemplate;
        extraStops.addAll(stopIds);
        if (chatTemplate != null && chatTemplate.specialTokens().get("eos_token") instanceof String e && tok.specialId(e) >= 0) {
            extraStops.add(tok.specialId(e));
        }
        this.modelId = modelId;
        this.log = log;
        this.eos = tok.specialId("<|end_of_text|>") >= 0 ? tok.specialId("<|end_of_text|>") : tok.specialId("<|eot_id|>");
        // TCP_NODELAY on the JDK server's sockets (read once, when its first server starts): without it each token's
        // small SSE write waits behind the previous one's delayed ACK (Nagle), and a stream arrived as its first token,
        // a ~40 ms stall, then the rest in a burst (measured on an H100: client ITL p50 0.01 ms, gap after token 1 43 ms)
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        http = HttpServer.create(new InetSocketAddress(host, port), 64);
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "llmwb-http");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(pool);
        http.createContext("/", this::handle);
        http.start();
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** Thrown to answer with a 4xx error object. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String type;
        final String param;

        ApiError(int status, String type, String param, String message) {
            super(message);
            this.status = status;
            this.type = type;
            this.param = param;
        }

        static ApiError bad(String param, String message) {
            return new ApiError(400, "invalid_request_error", param, message);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        try {
            switch (path) {
                case "/v1/models" -> {
                    need(method, "GET");
                    ObjectNode o = Json.object().put("object", "list");
                    o.putArray("data").addObject().put("id", modelId).put("object", "model").put("created", created).put("owned_by", "llmwb");
                    send(ex, 200, o);
                }
                case "/v1/completions" -> {
                    need(method, "POST");
                    completions(ex, body(ex), false);
                }
                case "/v1/chat/completions" -> {
                    need(method, "POST");
                    completions(ex, body(ex), true);
                }
                case "/tokenize" -> {
                    need(method, "POST");
                    tokenize(ex, body(ex));
                }
                case "/detokenize" -> {
                    need(method, "POST");
                    detokenize(ex, body(ex));
                }
                case "/health" -> send(ex, 200, Json.object().put("status", "ok"));
                case String p when p.startsWith("/v1/models/") -> {
                    need(method, "GET");
                    String id = java.net.URLDecoder.decode(p.substring("/v1/models/".length()), java.nio.charset.StandardCharsets.UTF_8);
                    if (!id.equals(modelId)) {
                        throw new ApiError(404, "invalid_request_error", "model", "the model '" + id + "' does not exist; this server has '" + modelId + "'");
                    }
                    send(ex, 200, Json.object().put("id", modelId).put("object", "model").put("created", created).put("owned_by", "llmwb"));
                }
                case "/llmwb/stats" -> send(ex, 200, Json.object().put("steps", loop.steps()).put("maxRunning", loop.maxRunning()).put("served", loop.served()));
                default -> throw new ApiError(404, "not_found_error", null, "no route " + method + " " + path
                        + "; this server has GET /v1/models, GET /v1/models/{id}, GET /health, POST /v1/completions, POST /v1/chat/completions, POST /tokenize, POST /detokenize");
            }
        } catch (ApiError e) {
            error(ex, e);
        } catch (IllegalStateException e) {
            error(ex, new ApiError(503, "server_error", null, e.getMessage()));
        } catch (IOException e) {
            // the client went away mid-response: nothing to answer
        } catch (RuntimeException e) {
            e.printStackTrace(log);
            error(ex, new ApiError(500, "server_error", null, "internal error: " + e));
        } finally {
            ex.close();
        }
    }

    /**
     * vLLM's {@code POST /tokenize}: {@code {"prompt": TEXT}} (or {@code "messages"} for a chat prompt, as the chat
     * endpoint builds it), {@code add_special_tokens} (default true for a prompt); answers the ids, their count and
     * the model's context length.
     */
    private void tokenize(HttpExchange ex, JsonNode req) throws IOException {
        int[] ids;
        if (req.has("messages")) {
            ids = prompt(req, true);
        } else {
            JsonNode p = req.get("prompt");
            if (p == null || !p.isTextual()) {
                throw ApiError.bad("prompt", "'prompt' must be a string (or send 'messages')");
            }
            boolean special = req.path("add_special_tokens").asBoolean(true);
            List<Integer> l = new ArrayList<>();
            int bos = tok.specialId("<|begin_of_text|>");
            if (special && bos >= 0) {
                l.add(bos); // as the completions endpoint does
            }
            l.addAll(tok.encode(p.asText()));
            ids = l.stream().mapToInt(Integer::intValue).toArray();
        }
        ObjectNode o = Json.object().put("count", ids.length).put("max_model_len", loop.maxModelLen());
        var arr = o.putArray("tokens");
        for (int id : ids) {
            arr.add(id);
        }
        send(ex, 200, o);
    }

    /** vLLM's {@code POST /detokenize}: {@code {"tokens": [ids]}} → {@code {"prompt": TEXT}}. */
    private void detokenize(HttpExchange ex, JsonNode req) throws IOException {
        JsonNode t = req.get("tokens");
        if (t == null || !t.isArray()) {
            throw ApiError.bad("tokens", "'tokens' must be an array of token ids");
        }
        List<Integer> ids = new ArrayList<>();
        for (JsonNode x : t) {
            if (!x.canConvertToInt() || x.asInt() < 0 || x.asInt() >= tok.vocabSize()) {
                throw ApiError.bad("tokens", "token id " + x + " is outside 0.." + (tok.vocabSize() - 1));
            }
            ids.add(x.asInt());
        }
        send(ex, 200, Json.object().put("prompt", tok.decode(ids)));
    }

    private static void need(String method, String want) {
        if (!method.equals(want)) {
            throw new ApiError(405, "invalid_request_error", null, "use " + want + " here, not " + method);
        }
    }

    private static JsonNode body(HttpExchange ex) throws IOException {
        byte[] b;
        try (InputStream in = ex.getRequestBody()) {
            b = in.readNBytes(MAX_BODY + 1);
        }
        if (b.length > MAX_BODY) {
            throw new ApiError(413, "invalid_request_error", null, "request body over " + (MAX_BODY >> 20) + " MiB");
        }
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(b);
        } catch (IOException e) {
            throw ApiError.bad(null, "the body is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) {
            throw ApiError.bad(null, "the body must be a JSON object");
        }
        return n;
    }

    /** The prompt tokens of a completions or chat request. */
    private int[] prompt(JsonNode req, boolean chat) {
        List<Integer> ids = new ArrayList<>();
        if (chat) {
            JsonNode msgs = req.get("messages");
            if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
                throw ApiError.bad("messages", "'messages' must be a non-empty array of {role, content}");
            }
            List<Map<String, Object>> messages = new ArrayList<>();
            for (int i = 0; i < msgs.size(); i++) {
                JsonNode m = msgs.get(i);
                String role = m.path("role").asText("");
                if (!Set.of("system", "user", "assistant", "developer", "tool").contains(role)) {
                    throw ApiError.bad("messages[" + i + "].role", "role must be system, user, assistant, developer or tool, not '" + role + "'");
                }
                Map<String, Object> msg = new java.util.LinkedHashMap<>();
                msg.put("role", role);
                msg.put("content", content(m.get("content"), i));
                messages.add(msg);
            }
            if (chatTemplate != null) {
                String text;
                try {
                    text = chatTemplate.render(messages, true, Map.of());
                } catch (org.llmwb.engine.tokenizer.ChatTemplate.ChatTemplateException e) {
                    throw ApiError.bad("messages", e.getMessage());
                }
                ids.addAll(tok.encode(text, false)); // the template writes BOS and the turn markers itself, as transformers tokenizes it
            } else {
                ids.addAll(tok.encode(fallbackChat(messages)));
            }

        } else {
            JsonNode p = req.get("prompt");
            if (p == null) {
                throw ApiError.bad("prompt", "'prompt' is required (a string or an array of token ids)");
            }
            if (p.isTextual()) {
                int bos = tok.specialId("<|begin_of_text|>");
                if (bos >= 0) {
                    ids.add(bos);
                }
                ids.addAll(tok.encode(p.asText()));
            } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
                for (JsonNode t : p) {
                    if (!t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= tok.vocabSize()) {
                        throw ApiError.bad("prompt", "token id " + t + " is outside 0.." + (tok.vocabSize() - 1));
                    }
                    ids.add(t.asInt());
                }
            } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
                ids.addAll(tok.encode(p.get(0).asText()));
            } else {
                throw ApiError.bad("prompt", "'prompt' must be a string, a one-string array or an array of token ids (batches of prompts: send one request each)");
            }
        }
        if (ids.isEmpty()) {
            throw ApiError.bad(chat ? "messages" : "prompt", "the prompt is empty");
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * A message's content as text: a string, or a list of parts of which only {@code {"type": "text"}} parts are
     * supported (joined with newlines, as vLLM's "string" content format does).
     */
    private static String content(JsonNode c, int i) {
        if (c != null && c.isTextual()) {
            return c.asText();
        }
        if (c != null && c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < c.size(); j++) {
                JsonNode part = c.get(j);
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.bad("messages[" + i + "].content[" + j + "]", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported, not '"
                            + part.path("type").asText("?") + "'");
                }
                if (sb.length() > 0) {
                    sb.append('\n');
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiError.bad("messages[" + i + "].content", "content must be a string or a list of text parts");
    }

    /** The prompt for a checkpoint without a chat template: Llama-3 headers when the tokenizer has them, else "role: text" lines. */
    private String fallbackChat(List<Map<String, Object>> messages) {
        StringBuilder text = new StringBuilder();
        boolean llama3 = tok.specialId("<|start_header_id|>") >= 0 && tok.specialId("<|eot_id|>") >= 0;
        if (tok.specialId("<|begin_of_text|>") >= 0) {
            text.append("<|begin_of_text|>");
        }
        for (Map<String, Object> m : messages) {
            if (llama3) {
                text.append("<|start_header_id|>").append(m.get("role")).append("<|end_header_id|>\n\n").append(m.get("content")).append("<|eot_id|>");
            } else {
                text.append(m.get("role")).append(": ").append(m.get("content")).append('\n');
            }
        }
        return text.append(llama3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "assistant:").toString();
    }

    private SamplingParams params(JsonNode req, boolean chat) {
        String model = req.path("model").asText(modelId);
        if (!model.equals(modelId)) {
            throw new ApiError(404, "invalid_request_error", "model", "the model '" + model + "' does not exist; this server has '" + modelId + "'");
        }
        if (req.has("n") && req.get("n").asInt(1) != 1) {
            throw ApiError.bad("n", "only n = 1 is supported");
        }
        unsupported(req);
        // without a limit a chat answer may run to the context's end (as OpenAI and vLLM do; resolved once the prompt's
        // length is known); legacy completions keep their default of 16 tokens
        int max = intField(req, chat && req.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens", chat ? TO_CONTEXT_END : 16, 1, 1 << 20);
        double temperature = numField(req, "temperature", 1.0, 0, 2);
        double topP = numField(req, "top_p", 1.0, 1e-9, 1);
        int topK = intField(req, "top_k", 0, 0, Integer.MAX_VALUE);
        long seed = req.has("seed") ? longField(req, "seed") : System.nanoTime();
        boolean ignore = req.path("ignore_eos").asBoolean(false);
        Set<Integer> stops = new HashSet<>();
        if (eos >= 0) {
            stops.add(eos);
        }
        if (tok.specialId("<|eot_id|>") >= 0) {
            stops.add(tok.specialId("<|eot_id|>"));
        }
        stops.addAll(extraStops);
        return new SamplingParams(temperature, topK, topP, seed, max, stops, ignore);
    }

    /** max_tokens of a chat request that set none: up to the model's context. */
    private static final int TO_CONTEXT_END = 1 << 20;

    /** Request fields this server cannot honour: refused with a 400 naming them, never ignored. */
    private static void unsupported(JsonNode req) {
        if (req.path("logprobs").asBoolean(false) || (req.has("logprobs") && req.get("logprobs").isInt() && req.get("logprobs").asInt() > 0)
                || (req.has("top_logprobs") && !req.get("top_logprobs").isNull())) {
            throw ApiError.bad(req.has("top_logprobs") ? "top_logprobs" : "logprobs", "logprobs are not supported by this server");
        }
        if (req.has("tools") && !req.get("tools").isNull() && !(req.get("tools").isArray() && req.get("tools").isEmpty())) {
            throw ApiError.bad("tools", "tool calling is not supported by this server");
        }
        if (req.has("tool_choice") && !req.get("tool_choice").isNull() && !"none".equals(req.get("tool_choice").asText())) {
            throw ApiError.bad("tool_choice", "tool calling is not supported by this server");
        }
        JsonNode rf = req.get("response_format");
        if (rf != null && !rf.isNull() && !"text".equals(rf.path("type").asText())) {
            throw ApiError.bad("response_format", "only response_format {\"type\": \"text\"} is supported (no JSON mode or schemas)");
        }
    }

    private static int intField(JsonNode req, String f, int dflt, int min, int max) {
        if (!req.has(f) || req.get(f).isNull()) {
            return dflt;
        }
        JsonNode n = req.get(f);
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < min || n.asInt() > max) {
            throw ApiError.bad(f, "'" + f + "' must be a whole number in " + min + ".." + max + ", got " + n);
        }
        return n.asInt();
    }

    private static long longField(JsonNode req, String f) {
        JsonNode n = req.get(f);
        if (!n.isIntegralNumber()) {
            throw ApiError.bad(f, "'" + f + "' must be a whole number, got " + n);
        }
        return n.asLong();
    }

    private static double numField(JsonNode req, String f, double dflt, double min, double max) {
        if (!req.has(f) || req.get(f).isNull()) {
            return dflt;
        }
        JsonNode n = req.get(f);
        if (!n.isNumber() || n.asDouble() < min || n.asDouble() > max) {
            throw ApiError.bad(f, "'" + f + "' must be a number in [" + min + ", " + max + "], got " + n);
        }
        return n.asDouble();
    }

    private static List<String> stops(JsonNode req) {
        JsonNode s = req.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isTextual()) {
            return s.asText().isEmpty() ? List.of() : List.of(s.asText());
        }
        if (s.isArray() && s.size() <= 4) {
            List<String> out = new ArrayList<>();
            for (JsonNode x : s) {
                if (!x.isTextual()) {
                    throw ApiError.bad("stop", "'stop' must be a string or up to 4 strings");
                }
                if (!x.asText().isEmpty()) {
                    out.add(x.asText());
                }
            }
            return out;
        }
        throw ApiError.bad("stop", "'stop' must be a string or up to 4 strings");
    }

    /** What the engine thread hands to the HTTP thread. */
    private record Msg(int token, String finish, int promptTokens, int outputTokens, String error, boolean serverFault) {
    }

    private void completions(HttpExchange ex, JsonNode req, boolean chat) throws IOException {
        SamplingParams sp = params(req, chat);
        int[] prompt = prompt(req, chat);
        List<String> stopStrings = stops(req);
        int maxLen = loop.engine().scheduler().maxModelLen();
        if (sp.maxTokens() == TO_CONTEXT_END) {
            if (prompt.length >= maxLen) {
                throw ApiError.bad("messages", "this model's maximum context length is " + maxLen + " positions; the prompt has " + prompt.length + " tokens");
            }
            sp = new SamplingParams(sp.temperature(), sp.topK(), sp.topP(), sp.seed(), maxLen - prompt.length, sp.stopTokens(), sp.ignoreStop());
        }
        if (prompt.length + sp.maxTokens() > maxLen) {
            throw ApiError.bad(req.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens", "this model's maximum context length is " + maxLen
                    + " positions; the request has " + prompt.length + " prompt tokens + " + sp.maxTokens() + " max tokens");
        }
        JsonNode streamNode = req.get("stream");
        if (streamNode != null && !streamNode.isNull() && !streamNode.isBoolean()) {
            throw ApiError.bad("stream", "'stream' must be true or false");
        }
        boolean stream = streamNode != null && streamNode.asBoolean();
        String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        long t0 = System.nanoTime();
        LinkedBlockingQueue<Msg> q = new LinkedBlockingQueue<>();
        EngineLoop.Handle h = loop.submit(prompt, sp, new EngineLoop.Stream() {
            @Override
            public void token(int token) {
                q.add(new Msg(token, null, 0, 0, null, false));
            }

            @Override
            public void finished(String reason, int promptTokens, int outputTokens) {
                q.add(new Msg(-1, reason, promptTokens, outputTokens, null, false));
            }

            @Override
            public void rejected(String message) {
                q.add(new Msg(-1, null, 0, 0, message, false));
            }

            @Override
            public void failed(String message) {
                q.add(new Msg(-1, null, 0, 0, message, true));
            }
        });
        List<Integer> out = new ArrayList<>();
        String sent = "";
        String stableText = "";
        int stableTokens = 0;
        int longestStop = stopStrings.stream().mapToInt(String::length).max().orElse(0);
        String finalText = "";
        String finish = null;
        int promptTokens = prompt.length;
        OutputStream os = null;
        boolean firstChunk = true;
        try {
            while (finish == null) {
                Msg m = q.poll(600, TimeUnit.SECONDS);
                if (m == null) {
                    throw new IllegalStateException("no token from the engine for 10 minutes");
                }
                if (m.error() != null) {
                    h.cancel();
                    if (m.serverFault()) {
                        throw new ApiError(500, "server_error", null, m.error());
                    }
                    throw ApiError.bad(chat ? "messages" : "prompt", m.error());
                }
                if (m.finish() != null) {
                    finish = m.finish().equals("abort") ? "stop" : m.finish();
                    break;
                }
                if (!sp.stopTokens().contains(m.token()) || sp.ignoreStop()) {
                    out.add(m.token()); // a stop token ends the text and is not part of it
                }
                // decode only the tokens after the last point where the text ended on a whole character
                String tail = tok.decode(out.subList(stableTokens, out.size()));
                String text = stableText + tail;
                if (!tail.isEmpty() && tail.charAt(tail.length() - 1) != '\uFFFD') {
                    stableText = text;
                    stableTokens = out.size();
                }
                int cut = -1;
                int from = Math.max(0, sent.length() - longestStop);
                for (String s : stopStrings) {
                    int at = text.indexOf(s, from);
                    if (at >= 0 && (cut < 0 || at < cut)) {
                        cut = at;
                    }
                }
                if (cut >= 0) {
                    text = text.substring(0, cut);
                    finish = "stop";
                    h.cancel();
                }
                // hold back an incomplete UTF-8 character and anything that may be the start of a stop string
                int safe = text.length();
                if (finish == null) {
                    while (safe > 0 && text.charAt(safe - 1) == '\uFFFD') {
                        safe--;
                    }
                    for (String s : stopStrings) {
                        for (int k = Math.min(s.length() - 1, safe); k > 0; k--) {
                            if (text.substring(0, safe).endsWith(s.substring(0, k))) {
                                safe = Math.min(safe, text.length() - k);
                                break;
                            }
                        }
                    }
                }
                String delta = safe > sent.length() ? text.substring(sent.length(), safe) : "";
                if (stream && !delta.isEmpty()) {
                    if (os == null) {
                        os = startStream(ex);
                    }
                    if (chat && firstChunk) {
                        sse(os, chunk(id, chat, Json.object().put("role", "assistant").put("content", ""), null));
                        firstChunk = false;
                    }
                    sse(os, chunk(id, chat, chat ? Json.object().put("content", delta) : null, null, delta));
                }
                sent = sent + delta;
                finalText = text;
                if (finish != null) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            h.cancel();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } catch (IOException e) {
            h.cancel(); // the client went away: free the sequence's blocks
            throw e;
        }
        if (finalText.length() > sent.length() && finalText.startsWith(sent)) {
            // what was held back at the end: an incomplete character or a partial stop string that never completed
            String tail = finalText.substring(sent.length());
            if (stream) {
                if (os == null) {
                    os = startStream(ex);
                }
                sse(os, chunk(id, chat, chat ? Json.object().put("content", tail) : null, null, tail));
            }
            sent = finalText;
        }
        int completion = out.size();
        log.printf(Locale.ROOT, "%s %s: %d prompt + %d completion tokens in %.0f ms (%s)%n", chat ? "chat" : "completion", id, promptTokens, completion,
                (System.nanoTime() - t0) / 1e6, finish);
        log.flush();
        ObjectNode usage = Json.object().put("prompt_tokens", promptTokens).put("completion_tokens", completion).put("total_tokens", promptTokens + completion);
        if (stream) {
            if (os == null) {
                os = startStream(ex);
            }
            ObjectNode last = chunk(id, chat, chat ? Json.object() : null, finish, "");
            last.set("usage", usage);
            sse(os, last);
            os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            os.flush();
            return;
        }
        ObjectNode o = Json.object().put("id", id).put("object", chat ? "chat.completion" : "text_completion").put("created", System.currentTimeMillis() / 1000)
                .put("model", modelId);
        ObjectNode c = o.putArray("choices").addObject().put("index", 0);
        if (chat) {
            c.putObject("message").put("role", "assistant").put("content", sent);
        } else {
            c.put("text", sent);
            c.putNull("logprobs");
        }
        c.put("finish_reason", finish);
        o.set("usage", usage);
        send(ex, 200, o);
    }

    private ObjectNode chunk(String id, boolean chat, ObjectNode delta, String finish) {
        return chunk(id, chat, delta, finish, "");
    }

    private ObjectNode chunk(String id, boolean chat, ObjectNode delta, String finish, String text) {
        ObjectNode o = Json.object().put("id", id).put("object", chat ? "chat.completion.chunk" : "text_completion")
                .put("created", System.currentTimeMillis() / 1000).put("model", modelId);
        ArrayNode ch = o.putArray("choices");
        ObjectNode c = ch.addObject().put("index", 0);
        if (chat) {
            c.set("delta", delta);
        } else {
            c.put("text", text);
            c.putNull("logprobs");
        }
        if (finish == null) {
            c.putNull("finish_reason");
        } else {
            c.put("finish_reason", finish);
        }
        return o;
    }

    private static OutputStream startStream(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        return ex.getResponseBody();
    }

    private static void sse(OutputStream os, ObjectNode o) throws IOException {
        os.write(("data: " + Json.line(o) + "\n\n").getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    private static void send(HttpExchange ex, int status, ObjectNode o) throws IOException {
        byte[] b = (Json.line(o) + "\n").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    private void error(HttpExchange ex, ApiError e) {
        ObjectNode o = Json.object();
        ObjectNode err = o.putObject("error").put("message", e.getMessage()).put("type", e.type);
        if (e.param == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param);
        }
        err.putNull("code");
        try {
            send(ex, e.status, o);
        } catch (IOException | RuntimeException ignored) {
            // headers already sent (a stream that failed midway) or the client is gone
        }
    }

    @Override
    public void close() {
        http.stop(0);
        pool.shutdownNow();
    }
}
