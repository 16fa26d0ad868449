package org.llmwb.engine.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.numeric.Half;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the packed little-endian data. Tensors are read straight from
 * the mapping (no copy of the file on the heap). Every structural problem — a header longer than the file,
 * invalid JSON, a range outside the data or overlapping another, a size that does not match dtype × shape,
 * an unsupported dtype — is an {@link InputException} naming the file and the tensor.
 */
public final class Safetensors implements AutoCloseable {
    /** The element types we read; others (e.g. F8_E4M3, I64) are rejected when a tensor is read. */
    public enum Dtype {
        F32(4), F16(2), BF16(2), I8(1), U8(1), I32(4);

        public final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }
    }

    /** A tensor's entry in the header. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    static final long MAX_HEADER = 100L << 20;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static Safetensors open(Path file) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            long size = ch.size();
            SourceLocation at = SourceLocation.of(file.toString());
            if (size < 8) {
                throw new InputException(at, "not a safetensors file: " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n <= 1 || n > MAX_HEADER || n > size - 8) {
                throw new InputException(at, "corrupt safetensors header: it claims " + n + " header bytes but the file has " + size
                        + " bytes (limit " + MAX_HEADER + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            String text = new String(hb.array(), StandardCharsets.UTF_8);
            JsonNode root;
            try {
                root = Json.parse(text);
            } catch (IOException e) {
                throw new InputException(at, "corrupt safetensors header: not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            if (!root.isObject()) {
                throw new InputException(at, "corrupt safetensors header: expected a JSON object");
            }
            long dataSize = size - 8 - n;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) {
                    f.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(f.getKey(), entry(at, f.getKey(), f.getValue(), dataSize));
            }
            checkOverlaps(at, entries);
            Safetensors s = new Safetensors(file, ch, 8 + n, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(meta));
            ch = null;
            return s;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputException(SourceLocation.of(file.toString()), "file not found");
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(file.toString()), "cannot read: " + e.getMessage());
        } finally {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static Entry entry(SourceLocation at, String name, JsonNode e, long dataSize) {
        String where = "tensor '" + name + "': ";
        if (!e.isObject() || !e.path("dtype").isTextual() || !e.path("shape").isArray() || !e.path("data_offsets").isArray()
                || e.path("data_offsets").size() != 2) {
            throw new InputException(at, where + "expected {dtype, shape, data_offsets: [begin, end]}");
        }
        long[] shape = new long[e.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = e.get("shape").get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new InputException(at, where + "shape " + e.get("shape") + " has a bad dimension");
            }
            shape[i] = d.asLong();
        }
        long begin = e.get("data_offsets").get(0).asLong(-1);
        long end = e.get("data_offsets").get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataSize) {
            throw new InputException(at, where + "data_offsets [" + begin + ", " + end + "] fall outside the " + dataSize + " data bytes");
        }
        Entry en = new Entry(name, e.get("dtype").asText(), shape, begin, end);
        try {
            Dtype dt = Dtype.valueOf(en.dtype());
            if (en.elements() * dt.bytes != end - begin) {
                throw new InputException(at, where + en.elements() + " elements of " + dt + " need " + en.elements() * dt.bytes + " bytes, but its range holds "
                        + (end - begin));
            }
        } catch (IllegalArgumentException unsupported) {
            // reported when the tensor is read: a file may carry tensors we never use
        }
        return en;
    }

    private static void checkOverlaps(SourceLocation at, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).begin() < sorted.get(i - 1).end()) {
                throw new InputException(at, "corrupt safetensors header: tensors '" + sorted.get(i - 1).name() + "' and '" + sorted.get(i).name()
                        + "' overlap");
            }
        }
    }

    public Path file() {
        return file;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new InputException(SourceLocation.of(file.toString()), "missing tensor '" + name + "'");
        }
        return e;
    }

    /** The tensor's bytes, mapped read-only (little-endian). */
    public ByteBuffer bytes(String name) {
        Entry e = entry(name);
        try {
            MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin());
            return m.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw new InputException(SourceLocation.of(file.toString()), "cannot map tensor '" + name + "': " + ex.getMessage());
        }
    }

    /** The tensor as floats (F32, F16 or BF16), checking its shape. */
    public float[] floats(String name, long... expectedShape) {
        Entry e = entry(name);
        if (expectedShape.length > 0 && !Arrays.equals(e.shape(), expectedShape)) {
            throw new InputException(SourceLocation.of(file.toString()), "tensor '" + name + "' has shape " + Arrays.toString(e.shape()) + ", expected "
                    + Arrays.toString(expectedShape));
        }
        if (e.elements() > Integer.MAX_VALUE - 8) {
            throw new InputException(SourceLocation.of(file.toString()), "tensor '" + name + "' has " + e.elements() + " elements, more than one Java array holds");
        }
        ByteBuffer b = bytes(name);
        float[] out = new float[(int) e.elements()];
        switch (e.dtype()) {
            case "F32" -> b.asFloatBuffer().get(out);
            case "BF16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Half.bf16ToFloat(b.getShort(2 * i));
                }
            }
            case "F16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Half.fp16ToFloat(b.getShort(2 * i));
                }
            }
            default -> throw new InputException(SourceLocation.of(file.toString()), "tensor '" + name + "' has dtype " + e.dtype()
                    + "; supported for weights: F32, F16, BF16");
        }
        return out;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only
        }
    }
}
