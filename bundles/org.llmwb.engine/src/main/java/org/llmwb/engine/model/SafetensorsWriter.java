package org.llmwb.engine.model;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

import org.llmwb.core.numeric.Half;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Writes a safetensors file from float tensors converted to F32/F16/BF16; written beside the target and moved into place. */
public final class SafetensorsWriter {
    private record Pending(Safetensors.Dtype dtype, long[] shape, float[] values) {
    }

    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, Safetensors.Dtype dtype, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape of " + n);
        }
        if (dtype != Safetensors.Dtype.F32 && dtype != Safetensors.Dtype.F16 && dtype != Safetensors.Dtype.BF16) {
            throw new IllegalArgumentException("writes F32, F16 or BF16, not " + dtype);
        }
        tensors.put(name, new Pending(dtype, shape.clone(), values));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectNode header = Json.object();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype().name());
            ArrayNode s = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                s.add(d);
            }
            long len = (long) e.getValue().values().length * e.getValue().dtype().bytes;
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] h = Json.MAPPER.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
                out.write(len.array());
                out.write(h);
                for (int i = h.length; i < padded; i++) {
                    out.write(' ');
                }
                for (Pending p : tensors.values()) {
                    ByteBuffer b = ByteBuffer.allocate(p.values().length * p.dtype().bytes).order(ByteOrder.LITTLE_ENDIAN);
                    for (float v : p.values()) {
                        switch (p.dtype()) {
                            case F32 -> b.putFloat(v);
                            case F16 -> b.putShort(Half.toFp16(v));
                            default -> b.putShort(Half.toBf16(v));
                        }
                    }
                    out.write(b.array());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
