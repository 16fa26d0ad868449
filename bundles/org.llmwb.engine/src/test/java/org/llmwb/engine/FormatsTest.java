package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.InputException;
import org.llmwb.core.numeric.Half;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.model.SafetensorsWriter;
import org.llmwb.engine.tokenizer.BpeTokenizer;

class FormatsTest {
    @TempDir
    Path dir;

    @Test
    void safetensorsRoundTripInEveryDtype() throws Exception {
        float[] v = {1.5f, -2.25f, 3.0e-3f, 65504f, -0f, 7f};
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", Safetensors.Dtype.F32, v, 2, 3).add("b", Safetensors.Dtype.BF16, v, 6).add("c", Safetensors.Dtype.F16, v, 3, 2)
                .metadata("format", "pt").write(f);
        try (Safetensors s = Safetensors.open(f)) {
            assertArrayEquals(v, s.floats("a", 2, 3));
            assertArrayEquals(Half.roundBf16(v), s.floats("b", 6));
            assertEquals(Half.fp16ToFloat(Half.toFp16(3.0e-3f)), s.floats("c")[2]);
            assertEquals("pt", s.metadata().get("format"));
            InputException e = assertThrows(InputException.class, () -> s.floats("a", 3, 2));
            assertTrue(e.getMessage().contains("tensor 'a' has shape [2, 3], expected [3, 2]"), e.getMessage());
            assertTrue(assertThrows(InputException.class, () -> s.floats("zzz")).getMessage().contains("missing tensor 'zzz'"));
        }
        assertEquals(List.of("t.safetensors"), Files.list(dir).map(p -> p.getFileName().toString()).toList()); // no temp files left
    }

    private Path raw(String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    @Test
    void corruptFilesAreRejectedWithTheReason() throws Exception {
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[] {1, 2, 3});
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(shortFile)).getMessage().contains("shorter than the 8-byte header length"));
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(huge)).getMessage().contains("corrupt safetensors header: it claims"));
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(raw("{not json", 0))).getMessage().contains("not JSON"));
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8)))
                .getMessage().contains("fall outside the 8 data bytes"));
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16)))
                .getMessage().contains("3 elements of F32 need 12 bytes"));
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(raw(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)))
                .getMessage().contains("overlap"));
        Path fp8 = raw("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        try (Safetensors s = Safetensors.open(fp8)) {
            assertTrue(assertThrows(InputException.class, () -> s.floats("a")).getMessage().contains("dtype F8_E4M3; supported for weights: F32, F16, BF16"));
        }
        assertTrue(assertThrows(InputException.class, () -> Safetensors.open(dir.resolve("nope.safetensors"))).getMessage().contains("file not found"));
    }

    @Test
    void tokenizerRoundTripsTextAndSpecialTokens() throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, BpeTokenizer.train(CheckpointGenerator.corpus(), 150, List.of("<|begin_of_text|>", "<|end_of_text|>")));
        BpeTokenizer t = BpeTokenizer.load(f);
        assertEquals(256 + 150 + 2, t.vocabSize());
        String text = "<|begin_of_text|>The engine decodes one token per step. Ünïcödé, emoji 🚀 and\ttabs\n\nstay intact.<|end_of_text|>";
        List<Integer> ids = t.encode(text);
        assertEquals(text, t.decode(ids));
        assertEquals(t.specialId("<|begin_of_text|>"), ids.get(0));
        assertEquals(t.specialId("<|end_of_text|>"), ids.get(ids.size() - 1));
        // merges learned from the corpus compress its own words: far fewer tokens than bytes
        String corpusLine = "the prefill step over all of the tokens";
        assertTrue(t.encode(corpusLine).size() < corpusLine.length() / 2, t.encode(corpusLine).toString());
        assertThrows(IllegalArgumentException.class, () -> t.decode(List.of(100_000)));
    }

    @Test
    void brokenTokenizerFilesSayWhy() throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
        // neither byte-level nor byte fallback nor an unk token: it loads, and text outside its vocabulary is refused
        // when it is encoded, naming the character (the library drops nothing silently either)
        BpeTokenizer charLevel = BpeTokenizer.load(f);
        assertEquals(List.of(0, 0), charLevel.encode("aa"));
        assertTrue(assertThrows(InputException.class, () -> charLevel.encode("ab")).getMessage().contains("cannot encode"));
        Files.writeString(f, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        assertTrue(assertThrows(InputException.class, () -> BpeTokenizer.load(f)).getMessage().contains("expected a BPE model"));
        Files.writeString(f, "{\"model\": ");
        assertTrue(assertThrows(InputException.class, () -> BpeTokenizer.load(f)).getMessage().contains("not a valid tokenizer.json"));
    }

    @Test
    void whatTheForwardPassDoesNotImplementIsRefusedNotIgnored() throws Exception {
        Path m = CheckpointGenerator.generate(dir.resolve("extra"), CheckpointGenerator.Shape.tiny(), 3, Safetensors.Dtype.BF16, 2);
        Path index = m.resolve("model.safetensors.index.json");
        String shard = "model-00001-of-00002.safetensors";
        Files.writeString(index, Files.readString(index).replace("\"weight_map\" : {", "\"weight_map\" : {\n    \"model.layers.0.self_attn.q_proj.bias\" : \"" + shard + "\","));
        String msg = assertThrows(InputException.class, () -> Checkpoint.open(m)).getMessage();
        assertTrue(msg.contains("model.layers.0.self_attn.q_proj.bias") && msg.contains("does not use"), msg);
        Path cfg = dir.resolve("cfg");
        Files.createDirectories(cfg);
        String base = Files.readString(CheckpointGenerator.generate(dir.resolve("plain"), CheckpointGenerator.Shape.tiny(), 3, Safetensors.Dtype.BF16, 1).resolve("config.json"));
        for (String[] c : new String[][] {{"\"model_type\" : \"llama\"", "\"model_type\" : \"llama\", \"attention_bias\" : true", "model.layers.0.self_attn.q_proj.bias"},
                {"\"model_type\" : \"llama\"", "\"model_type\" : \"qwen3\"", "model.layers.0.self_attn.q_norm.weight"},
                {"\"model_type\" : \"llama\"", "\"model_type\" : \"mixtral\"", "mixture of experts"}, {"\"model_type\" : \"llama\"", "\"model_type\" : \"llama\", \"hidden_act\" : \"gelu\"", "hidden_act 'gelu'"}}) {
            Files.writeString(dir.resolve("plain/config.json"), base.replace(c[0], c[1]));
            String e = assertThrows(InputException.class, () -> Checkpoint.open(dir.resolve("plain"))).getMessage();
            assertTrue(e.contains(c[2]) && e.contains("config.json:"), e);
        }
    }

    @Test
    void ordinaryIdsSkipSpecialTokensWhereverTheyAre() throws Exception {
        // HF's trainer puts special tokens first (ids 0 and 1 in the trained KJV tokenizer): random prompts must not
        // be drawn "below the smallest special id" (that range is empty there)
        BpeTokenizer t = BpeTokenizer.load(org.llmwb.engine.parity.TransformersParity.parityRoot().resolve("models/kjv-target/tokenizer.json"));
        assertEquals(0, t.specialId("<|begin_of_text|>"));
        int[] ids = t.ordinaryIds();
        assertEquals(t.vocabSize() - 2, ids.length);
        assertEquals(2, ids[0]);
        assertEquals(t.vocabSize() - 1, ids[ids.length - 1]);
    }

    @Test
    void generatedCheckpointsOpenSingleAndSharded() throws Exception {
        CheckpointGenerator.Shape s = CheckpointGenerator.Shape.tiny();
        Path one = CheckpointGenerator.generate(dir.resolve("one"), s, 7, Safetensors.Dtype.BF16, 1);
        Path three = CheckpointGenerator.generate(dir.resolve("three"), s, 7, Safetensors.Dtype.BF16, 3);
        assertTrue(Files.isRegularFile(three.resolve("model.safetensors.index.json")));
        assertEquals(3, Files.list(three).filter(p -> p.toString().endsWith(".safetensors")).count());
        try (Checkpoint a = Checkpoint.open(one); Checkpoint b = Checkpoint.open(three)) {
            assertEquals(s.hidden(), a.config().hiddenSize());
            assertEquals(s.kvHeads(), a.config().numKvHeads());
            assertEquals(s.headDim(), a.config().headDim());
            assertArrayEquals(a.floats("model.layers.1.mlp.down_proj.weight", s.hidden(), s.intermediate()),
                    b.floats("model.layers.1.mlp.down_proj.weight", s.hidden(), s.intermediate()));
            assertTrue(assertThrows(InputException.class, () -> a.floats("model.layers.9.mlp.down_proj.weight")).getMessage().contains("missing tensor"));
        }
        Files.delete(three.resolve("model-00002-of-00003.safetensors"));
        assertTrue(assertThrows(InputException.class, () -> Checkpoint.open(three)).getMessage().contains("which is not a file in the checkpoint folder"));
        assertThrows(InputException.class, () -> CheckpointGenerator.generate(one, s, 1, Safetensors.Dtype.BF16, 1));
    }
}
