package org.llmwb.engine.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.ops.KvCacheOps;
import org.llmwb.core.result.Json;

/**
 * Moving one request's K/V between two GPUs' paged pools, as disaggregated serving does after a prefill: a
 * Llama-3.1-8B-shaped cache (32 layers, 8 KV heads of 128, BF16, blocks of 16 tokens), a 4,096-token request
 * (256 blocks at scattered ids, 512 MiB). Measured in one run: the peer bandwidth itself (cuMemcpyPeer of the
 * same bytes), and two ways to move the blocks — staged (one-launch gather of every layer's blocks into a local
 * staging buffer, one peer copy, one-launch scatter) and pull (the same gather, then the decode GPU's scatter
 * kernel reads the prefill GPU's staging over the link; what the engine does when peer access is on). Bandwidth = request bytes ÷ end-to-end time; every stage is timed; the
 * destination blocks are checked byte for byte against the source.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.KvTransferBench --out kv-transfer.jsonl</pre>
 */
public final class KvTransferBench {
    private KvTransferBench() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of("kv-transfer.jsonl");
        int tokens = 4096;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        int layers = 32;
        int kvw = 8 * 128;
        int bs = 16;
        int poolBlocks = 2 * ((tokens + bs - 1) / bs) + 64;
        int n = (tokens + bs - 1) / bs;
        long lb = 2L * bs * kvw; // bytes of one block in one layer's K (or V)
        long bytes = 2L * layers * n * lb;
        int gpus = Gpu.deviceCount();
        if (gpus < 2) {
            throw new IllegalStateException("the KV transfer benchmark needs two GPUs; this machine has " + gpus);
        }
        Gpu a = Gpu.open(0);
        Gpu b = Gpu.open(1);
        List<Map<String, Object>> rows = new ArrayList<>();
        try {
            boolean peer = a.enablePeerAccess(b) && b.enablePeerAccess(a);
            java.util.Random rnd = new java.util.Random(1);
            int[] src = shuffled(poolBlocks, n, rnd);
            int[] dst = shuffled(poolBlocks, n, rnd);
            a.bind();
            KvCacheOps opsA = new KvCacheOps(a);
            DeviceBuffer[] poolA = new DeviceBuffer[2 * layers];
            for (int i = 0; i < poolA.length; i++) {
                byte[] fill = new byte[(int) (lb * poolBlocks)];
                rnd.nextBytes(fill);
                poolA[i] = a.upload("pool A " + i, fill);
            }
            DeviceBuffer stA = a.alloc("staging A", bytes);
            DeviceBuffer idsA = a.upload("src ids", src);
            b.bind();
            KvCacheOps opsB = new KvCacheOps(b);
            DeviceBuffer[] poolB = new DeviceBuffer[2 * layers];
            for (int i = 0; i < poolB.length; i++) {
                poolB[i] = b.alloc("pool B " + i, lb * poolBlocks);
            }
            DeviceBuffer stB = b.alloc("staging B", bytes);
            DeviceBuffer idsB = b.upload("dst ids", dst);
            int runs = 20;
            a.bind();
            DeviceBuffer ptrA = a.uploadPointers("caches A", poolA);
            b.bind();
            DeviceBuffer ptrB = b.uploadPointers("caches B", poolB);
            long cacheBytes = lb * poolBlocks;
            int caches = 2 * layers;
            double[] peerS = new double[runs];
            double[][] staged = new double[4][runs];
            double[][] pull = new double[3][runs];
            for (int r = -3; r < runs; r++) {
                long t0 = System.nanoTime();
                Gpu.copyPeer(stB, b, stA, a, bytes);
                long t1 = System.nanoTime();
                if (r >= 0) {
                    peerS[r] = (t1 - t0) / 1e9;
                }
                // staged (the engine's path without peer access to read): one-launch gather on A, peer copy, one-launch scatter on B
                a.bind();
                long s0 = System.nanoTime();
                opsA.gatherLayers(ptrA, caches, cacheBytes, stA, src, idsA, lb);
                a.sync();
                long s1 = System.nanoTime();
                Gpu.copyPeer(stB, b, stA, a, bytes);
                long s2 = System.nanoTime();
                b.bind();
                opsB.scatterLayers(stB, ptrB, caches, cacheBytes, dst, idsB, lb);
                b.sync();
                long s3 = System.nanoTime();
                if (r >= 0) {
                    staged[0][r] = (s1 - s0) / 1e9;
                    staged[1][r] = (s2 - s1) / 1e9;
                    staged[2][r] = (s3 - s2) / 1e9;
                    staged[3][r] = (s3 - s0) / 1e9;
                }
                if (peer) {
                    // pull (the engine's path with peer access): gather on A, then B's scatter kernel reads A's staging over the link
                    a.bind();
                    long f0 = System.nanoTime();
                    opsA.gatherLayers(ptrA, caches, cacheBytes, stA, src, idsA, lb);
                    a.sync();
                    long f1 = System.nanoTime();
                    b.bind();
                    opsB.scatterLayers(stA, ptrB, caches, cacheBytes, dst, idsB, lb);
                    b.sync();
                    long f2 = System.nanoTime();
                    if (r >= 0) {
                        pull[0][r] = (f1 - f0) / 1e9;
                        pull[1][r] = (f2 - f1) / 1e9;
                        pull[2][r] = (f2 - f0) / 1e9;
                    }
                }
            }
            // the per-layer kernels (one launch per layer and K/V), for comparison
            double[] perLayer = new double[runs];
            for (int r = -3; r < runs; r++) {
                a.bind();
                long g0 = System.nanoTime();
                move(opsA, poolA, stA, src, idsA, lb, n, true);
                a.sync();
                if (r >= 0) {
                    perLayer[r] = (System.nanoTime() - g0) / 1e9;
                }
            }
            // the destination blocks hold the source blocks
            boolean ok = true;
            for (int l : new int[] {0, 17, 2 * layers - 1}) {
                for (int j : new int[] {0, n / 2, n - 1}) {
                    a.bind();
                    byte[] x = download(a, poolA[l], src[j] * lb, (int) lb);
                    b.bind();
                    byte[] y = download(b, poolB[l], dst[j] * lb, (int) lb);
                    ok &= java.util.Arrays.equals(x, y);
                }
            }
            double peerBw = bytes / med(peerS);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "kv-transfer-peer");
            row.put("devices", a.device().name() + " → GPU 1");
            row.put("shape", "Llama-3.1-8B KV: 32 layers × 8 KV heads × 128, BF16, blocks of 16");
            row.put("tokens", tokens);
            row.put("blocks", n);
            row.put("bytes", bytes);
            row.put("peerAccess", peer);
            row.put("peerCopyMs", med(peerS) * 1e3);
            row.put("measuredPeerBandwidth", peerBw);
            row.put("stagedGatherMs", med(staged[0]) * 1e3);
            row.put("stagedCopyMs", med(staged[1]) * 1e3);
            row.put("stagedScatterMs", med(staged[2]) * 1e3);
            row.put("stagedTotalMs", med(staged[3]) * 1e3);
            row.put("stagedBandwidth", bytes / med(staged[3]));
            row.put("stagedFractionOfPeer", bytes / med(staged[3]) / peerBw);
            row.put("perLayerLaunchGatherMs", med(perLayer) * 1e3);
            if (peer) {
                row.put("pullGatherMs", med(pull[0]) * 1e3);
                row.put("pullScatterOverLinkMs", med(pull[1]) * 1e3);
                row.put("pullTotalMs", med(pull[2]) * 1e3);
                row.put("pullBandwidth", bytes / med(pull[2]));
                row.put("pullFractionOfPeer", bytes / med(pull[2]) / peerBw);
                row.put("pullLinkStageFractionOfPeer", bytes / med(pull[1]) / peerBw);
            }
            row.put("blocksVerified", ok);
            rows.add(row);
            System.out.printf(Locale.ROOT, "%d tokens, %.1f MiB: peer copy %.3f ms (%.1f GB/s); staged %.3f ms (%.1f%% of peer: gather %.3f, copy %.3f, scatter %.3f); "
                    + "pull %s; per-layer-launch gather %.3f ms; verified %s%n", tokens, bytes / 1048576.0, med(peerS) * 1e3, peerBw / 1e9, med(staged[3]) * 1e3,
                    100 * bytes / med(staged[3]) / peerBw, med(staged[0]) * 1e3, med(staged[1]) * 1e3, med(staged[2]) * 1e3,
                    peer ? String.format(Locale.ROOT, "%.3f ms (%.1f%% of peer; gather %.3f, scatter over the link %.3f)", med(pull[2]) * 1e3,
                            100 * bytes / med(pull[2]) / peerBw, med(pull[0]) * 1e3, med(pull[1]) * 1e3) : "n/a", med(perLayer) * 1e3, ok);
        } finally {
            a.close();
            b.close();
        }
        StringBuilder sb = new StringBuilder();
        rows.forEach(r -> sb.append(Json.line(r)).append('\n'));
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
    }

    static void move(KvCacheOps ops, DeviceBuffer[] pool, DeviceBuffer staging, int[] ids, DeviceBuffer dIds, long lb, int n, boolean gather) {
        long part = lb * n;
        for (int i = 0; i < pool.length; i++) {
            DeviceBuffer s = staging.view(i * part, part);
            if (gather) {
                ops.gather(pool[i], s, ids, dIds, lb);
            } else {
                ops.scatter(s, pool[i], ids, dIds, lb);
            }
        }
    }

    static byte[] download(Gpu g, DeviceBuffer b, long offset, int n) {
        try (DeviceBuffer tmp = g.alloc("check", n)) {
            DeviceBuffer v = b.view(offset, n);
            g.copy(tmp, v, n);
            return g.downloadBytes(tmp, n);
        }
    }

    static int[] shuffled(int pool, int n, java.util.Random r) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < pool; i++) {
            all.add(i);
        }
        java.util.Collections.shuffle(all, r);
        return all.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
    }

    static double med(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }
}
