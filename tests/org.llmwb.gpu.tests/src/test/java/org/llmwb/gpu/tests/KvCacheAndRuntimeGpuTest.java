package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.GpuOutOfMemoryException;
import org.llmwb.backend.cuda.ops.Ceilings;
import org.llmwb.backend.cuda.ops.KvCacheOps;

/** KV-cache movement byte for byte against a CPU emulation; copies, graphs, out-of-memory errors. */
class KvCacheAndRuntimeGpuTest extends GpuTestBase {

    @ParameterizedTest(name = "tokens {0}, row {1} B, block {2}")
    @CsvSource({"1, 128, 8", "17, 2048, 16", "1000, 256, 32", "333, 4096, 16"})
    void pagedWriteCopyGatherScatter(int tokens, int rowBytes, int blockSize) {
        Random r = new Random(tokens + rowBytes);
        int blocks = (tokens + blockSize - 1) / blockSize * 2 + 5;
        int poolSlots = blocks * blockSize;
        byte[] kNew = new byte[tokens * rowBytes];
        byte[] vNew = new byte[tokens * rowBytes];
        r.nextBytes(kNew);
        r.nextBytes(vNew);
        // distinct random slots; every 7th token is padding (−1)
        Integer[] perm = new Integer[poolSlots];
        for (int i = 0; i < poolSlots; i++) {
            perm[i] = i;
        }
        java.util.Collections.shuffle(Arrays.asList(perm), r);
        int[] slots = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            slots[t] = t % 7 == 6 ? -1 : perm[t];
        }
        byte[] kExp = new byte[poolSlots * rowBytes];
        byte[] vExp = new byte[poolSlots * rowBytes];
        r.nextBytes(kExp);
        System.arraycopy(kExp, 0, vExp, 0, vExp.length);
        byte[] kInit = kExp.clone();
        for (int t = 0; t < tokens; t++) {
            if (slots[t] >= 0) {
                System.arraycopy(kNew, t * rowBytes, kExp, slots[t] * rowBytes, rowBytes);
                System.arraycopy(vNew, t * rowBytes, vExp, slots[t] * rowBytes, rowBytes);
            }
        }
        KvCacheOps ops = new KvCacheOps(gpu);
        long blockBytes = (long) blockSize * rowBytes;
        try (DeviceBuffer dk = gpu.upload("kNew", kNew); DeviceBuffer dv = gpu.upload("vNew", vNew); DeviceBuffer kc = gpu.upload("kc", kInit);
                DeviceBuffer vc = gpu.upload("vc", kInit); DeviceBuffer ds = gpu.upload("slots", slots)) {
            ops.writePaged(dk, dv, kc, vc, slots, ds, rowBytes);
            assertArrayEquals(kExp, gpu.downloadBytes(kc, kExp.length));
            assertArrayEquals(vExp, gpu.downloadBytes(vc, vExp.length));
            // copy-on-write: block 0 → block blocks−1, block 1 → block blocks−2
            int[] pairs = {0, blocks - 1, 1, blocks - 2};
            for (int p = 0; p < pairs.length; p += 2) {
                System.arraycopy(kExp, (int) (pairs[p] * blockBytes), kExp, (int) (pairs[p + 1] * blockBytes), (int) blockBytes);
                System.arraycopy(vExp, (int) (pairs[p] * blockBytes), vExp, (int) (pairs[p + 1] * blockBytes), (int) blockBytes);
            }
            try (DeviceBuffer dp = gpu.upload("pairs", pairs)) {
                ops.copyBlocks(kc, vc, pairs, dp, blockBytes);
            }
            assertArrayEquals(kExp, gpu.downloadBytes(kc, kExp.length));
            assertArrayEquals(vExp, gpu.downloadBytes(vc, vExp.length));
            // gather 3 blocks out, scatter them into other places
            int[] src = {2, 0, blocks - 1};
            int[] dst = {blocks - 3, 3, 1}; // distinct (blocks >= 7); the launcher rejects duplicates, see below
            try (DeviceBuffer st = gpu.alloc("staging", 3 * blockBytes); DeviceBuffer dsrc = gpu.upload("src", src);
                    DeviceBuffer ddst = gpu.upload("dst", dst)) {
                ops.gather(kc, st, src, dsrc, blockBytes);
                byte[] staged = gpu.downloadBytes(st, (int) (3 * blockBytes));
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(Arrays.copyOfRange(kExp, (int) (src[i] * blockBytes), (int) ((src[i] + 1) * blockBytes)),
                            Arrays.copyOfRange(staged, (int) (i * blockBytes), (int) ((i + 1) * blockBytes)));
                }
                ops.scatter(st, kc, dst, ddst, blockBytes);
                for (int i = 0; i < 3; i++) {
                    System.arraycopy(staged, (int) (i * blockBytes), kExp, (int) (dst[i] * blockBytes), (int) blockBytes);
                }
                assertArrayEquals(kExp, gpu.downloadBytes(kc, kExp.length));
                assertThrows(IllegalArgumentException.class, () -> ops.scatter(st, kc, new int[] {3, 1, 3}, ddst, blockBytes));
            }
            // a slot past the pool is rejected before the launch
            int[] bad = {0, poolSlots};
            assertThrows(IllegalArgumentException.class, () -> ops.writePaged(dk, dv, kc, vc, bad, ds, rowBytes));
        }
    }

    @Test
    void contiguousAppend() {
        int rowBytes = 256, seqs = 3, maxLen = 40;
        byte[] kNew = new byte[5 * rowBytes];
        new Random(5).nextBytes(kNew);
        int[] seq = {0, 2, 2, 1, 0};
        int[] pos = {0, 39, 7, 13, 1};
        byte[] exp = new byte[seqs * maxLen * rowBytes];
        for (int t = 0; t < 5; t++) {
            System.arraycopy(kNew, t * rowBytes, exp, (seq[t] * maxLen + pos[t]) * rowBytes, rowBytes);
        }
        try (DeviceBuffer dk = gpu.upload("k", kNew); DeviceBuffer kc = gpu.alloc("kc", exp.length); DeviceBuffer vc = gpu.alloc("vc", exp.length);
                DeviceBuffer ds = gpu.upload("seq", seq); DeviceBuffer dp = gpu.upload("pos", pos)) {
            gpu.memset(kc, (byte) 0);
            new KvCacheOps(gpu).appendContiguous(dk, dk, kc, vc, seq, pos, ds, dp, maxLen, rowBytes);
            assertArrayEquals(exp, gpu.downloadBytes(kc, exp.length));
            assertThrows(IllegalArgumentException.class,
                    () -> new KvCacheOps(gpu).appendContiguous(dk, dk, kc, vc, new int[] {3}, new int[] {0}, ds, dp, maxLen, rowBytes));
        }
    }

    @Test
    void copiesAndGraphReplay() {
        int n = 16 * 100_003;
        byte[] src = new byte[n];
        new Random(9).nextBytes(src);
        Ceilings c = new Ceilings(gpu);
        try (DeviceBuffer a = gpu.upload("a", src); DeviceBuffer b = gpu.alloc("b", n); DeviceBuffer d = gpu.alloc("d", n)) {
            c.copy(1, a, b, n);
            assertArrayEquals(src, gpu.downloadBytes(b, n));
            gpu.memset(b, (byte) 0);
            c.copy(2, a, b, n);
            assertArrayEquals(src, gpu.downloadBytes(b, n));
            // a graph of two dependent copies a → d → b, replayed after b is cleared
            gpu.memset(b, (byte) 0);
            gpu.sync();
            try (Gpu.Graph g = gpu.capture(() -> {
                c.copy(2, a, d, n);
                c.copy(1, d, b, n);
            })) {
                g.replay();
                gpu.sync();
            }
            assertArrayEquals(src, gpu.downloadBytes(b, n));
        }
        try (DeviceBuffer out = gpu.alloc("out", 4L * 132 * 256)) {
            c.fma(out, 132, 256, 100);
            c.mma(out, 132, 256, 10);
            gpu.sync();
            for (float f : gpu.downloadFloats(out, 132 * 256)) {
                assertTrue(Float.isFinite(f));
            }
        }
    }

    @Test
    void outOfMemorySaysWhatWasAskedAndWhatIsFree() {
        long[] info = gpu.memoryInfo();
        GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class, () -> gpu.alloc("a huge KV pool", info[1] * 2));
        assertTrue(e.getMessage().contains("a huge KV pool") && e.getMessage().contains("MiB free of"), e.getMessage());
    }
}
