package org.llmwb.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.llmwb.backend.cuda.CudaProbe;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.bench.CeilingsBenchmark;
import org.llmwb.core.InputException;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "ceilings", description = "Measure this machine's GPU roofs (copy bandwidth, FP32 FMA, BF16 mma.sync) and save them.")
final class CeilingsCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--save", paramLabel = "FILE", description = "where to store them (default: ~/.llmwb/ceilings.json)")
    Path save;
    @Option(names = "--copy-mib", defaultValue = "1024", description = "MiB per copy buffer (default: ${DEFAULT-VALUE}; keep it several times L2)")
    int copyMib;

    @Override
    public Integer call() throws IOException {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.available()) {
            throw new InputException("no usable GPU here (" + probe.reason() + "); run `llmwb ceilings` on the machine with the GPU");
        }
        CeilingsBenchmark.Result r;
        try (Gpu gpu = Gpu.open()) {
            r = CeilingsBenchmark.measure(gpu, (long) copyMib << 20, 30);
        }
        Map<String, Object> device = probe.describe();
        device.put("measuredCopyBandwidth", r.copyBandwidth());
        device.put("measuredFp32Fma", r.fp32Fma());
        device.put("measuredBf16MmaSync", r.bf16MmaSync());
        if (!Double.isNaN(r.bf16Wgmma())) {
            device.put("measuredBf16Wgmma", r.bf16Wgmma());
        }
        Map<String, Object> env = EnvFingerprint.capture(device);
        Path target = save != null ? save : Path.of(System.getProperty("user.home"), ".llmwb", "ceilings.json");
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".ceilings", ".json");
        Files.writeString(tmp, Json.pretty(env));
        Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        var out = spec.commandLine().getOut();
        if (common.json) {
            Output.json(out, env);
        } else {
            out.printf(Locale.ROOT, "%s: copy %.1f GB/s (read + write), FP32 FMA %.1f TFLOP/s, BF16 mma.sync %.1f TFLOP/s%s%nsaved to %s%n",
                    probe.name(), r.copyBandwidth() / 1e9, r.fp32Fma() / 1e12, r.bf16MmaSync() / 1e12,
                    Double.isNaN(r.bf16Wgmma()) ? "" : String.format(Locale.ROOT, ", BF16 wgmma %.1f TFLOP/s", r.bf16Wgmma() / 1e12), target);
        }
        return 0;
    }
}
