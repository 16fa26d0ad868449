package org.llmwb.engine.model;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.ArrayList;
import java.util.List;

import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.nd4j.Nd4jOps;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Llama-family forward pass on the CPU (ND4J, FP32): embedding, per layer RMSNorm → fused QKV GEMM → RoPE →
 * K/V written into the paged pool → causal attention over the sequence's blocks → output projection and residual,
 * RMSNorm → fused gate/up GEMM → SiLU·mul → down projection and residual; final norm and the (tied or untied)
 * output head. One {@link #forward} call runs a mixed step: sequences with several new tokens (prefill or a
 * prefill chunk) and sequences with one (decode), their linear layers as one GEMM over all new tokens.
 */
public final class LlamaCpu {
    /** The paged KV pool: per layer K and V as [blocks × blockSize, KVH × D] rows. */
    public static final class KvPool {
        final INDArray[] k;
        final INDArray[] v;
        /** Whether K/V are stored as FP8 E4M3 (unit scale): values are rounded to that grid as they are written. */
        final boolean fp8;
        public final int blocks;
        public final int blockSize;

        KvPool(int layers, int blocks, int blockSize, int width, boolean fp8) {
            this.fp8 = fp8;
            this.blocks = blocks;
            this.blockSize = blockSize;
            k = new INDArray[layers];
            v = new INDArray[layers];
            for (int l = 0; l < layers; l++) {
                k[l] = Nd4j.create(DataType.FLOAT, (long) blocks * blockSize, width);
                v[l] = Nd4j.create(DataType.FLOAT, (long) blocks * blockSize, width);
            }
        }

        /** Copies block {@code src} onto block {@code dst} in every layer (copy-on-write of a shared block). */
        public void copyBlock(int src, int dst) {
            for (int l = 0; l < k.length; l++) {
                k[l].get(interval((long) dst * blockSize, (long) (dst + 1) * blockSize), all())
                        .assign(k[l].get(interval((long) src * blockSize, (long) (src + 1) * blockSize), all()));
                v[l].get(interval((long) dst * blockSize, (long) (dst + 1) * blockSize), all())
                        .assign(v[l].get(interval((long) src * blockSize, (long) (src + 1) * blockSize), all()));
            }
        }

        public long bytes() {
            return 2L * k.length * k[0].length() * 4;
        }

        /** Floats one block holds in one layer's K (or V). */
        public int blockFloats() {
            return blockSize * (int) k[0].size(1);
        }

        /** Copies the blocks' K and V, layer by layer (K blocks, then V blocks), into {@code out}. */
        public void gather(int[] ids, float[] out) {
            int bf = blockFloats();
            int o = 0;
            for (int l = 0; l < k.length; l++) {
                for (INDArray a : new INDArray[] {k[l], v[l]}) {
                    for (int b : ids) {
                        float[] f = a.get(interval((long) b * blockSize, (long) (b + 1) * blockSize), all()).dup().data().asFloat();
                        System.arraycopy(f, 0, out, o, bf);
                        o += bf;
                    }
                }
            }
        }

        /** Writes what {@link #gather} laid out into the given blocks. */
        public void scatter(float[] in, int[] ids) {
            int bf = blockFloats();
            long w = k[0].size(1);
            int o = 0;
            for (int l = 0; l < k.length; l++) {
                for (INDArray a : new INDArray[] {k[l], v[l]}) {
                    for (int b : ids) {
                        a.get(interval((long) b * blockSize, (long) (b + 1) * blockSize), all())
                                .assign(Nd4j.create(java.util.Arrays.copyOfRange(in, o, o + bf), new long[] {blockSize, w}, 'c'));
                        o += bf;
                    }
                }
            }
        }
    }

    private final ModelConfig cfg;
    private final Checkpoint.Numerics num;
    private final INDArray embed;
    private final INDArray lmHeadT;
    private final INDArray finalNorm;
    private final INDArray[] attnNorm;
    private final INDArray[] mlpNorm;
    private final INDArray[] qkvT;
    private final INDArray[] oT;
    private final INDArray[] gateUpT;
    private final INDArray[] downT;
    private final float[] invFreq;
    /** Qwen2-style q/k/v projection bias, [1, qw + 2·kw] per layer (null without); o_proj bias [1, h] where present. */
    private final INDArray[] qkvBias;
    private final INDArray[] oBias;
    /** Qwen3's per-head RMSNorm of queries and keys before RoPE, gains [1, d] per layer (null without). */
    private final INDArray[] qNorm;
    private final INDArray[] kNorm;

    private final org.llmwb.engine.quant.Quantization quant;
    /** Sees each linear group's input during a forward (AWQ calibration): key "layer.qkv", ".o", ".gateup", ".down". */
    java.util.function.BiConsumer<String, INDArray> tap;
    /** Per layer group, the α AWQ chose (empty without AWQ). */
    private final java.util.Map<String, Double> awqAlphas = new java.util.TreeMap<>();

    public LlamaCpu(Checkpoint ck) {
        this(ck, org.llmwb.engine.quant.Quantization.NONE);
    }

    /**
     * Loads the model with a load-time quantization: each linear layer's weights are quantized and dequantized
     * back (the CPU then multiplies the quantized values in FP32: accuracy as quantized, speed as FP32), and an
     * FP8 KV cache rounds K and V to E4M3 as they are written.
     */
    public LlamaCpu(Checkpoint ck, org.llmwb.engine.quant.Quantization quant) {
        this.quant = quant;
        Nd4jOps.warmUp();
        cfg = ck.config();
        num = ck.numerics();
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        int q = cfg.numHeads() * d;
        int kv = cfg.numKvHeads() * d;
        int inter = cfg.intermediateSize();
        int layers = cfg.numLayers();
        long vocab = cfg.vocabSize();
        embed = Nd4jOps.matrix(ck.floats("model.embed_tokens.weight", vocab, h), (int) vocab, h);
        lmHeadT = ck.has("lm_head.weight") ? transposed(ck.floats("lm_head.weight", vocab, h), (int) vocab, h) : embed.transpose().dup('c');
        if (!ck.has("lm_head.weight") && !cfg.tieEmbeddings()) {
            throw new InputException("config.json says tie_word_embeddings is false but the checkpoint has no lm_head.weight");
        }
        finalNorm = row(ck.floats("model.norm.weight", h));
        attnNorm = new INDArray[layers];
        mlpNorm = new INDArray[layers];
        qkvT = new INDArray[layers];
        oT = new INDArray[layers];
        gateUpT = new INDArray[layers];
        downT = new INDArray[layers];
        qkvBias = num.qkvBias() ? new INDArray[layers] : null;
        oBias = num.qkvBias() ? new INDArray[layers] : null;
        qNorm = num.qkNorm() ? new INDArray[layers] : null;
        kNorm = num.qkNorm() ? new INDArray[layers] : null;
        java.util.Map<String, float[][]> calib = quant.weights() == org.llmwb.engine.quant.Quantization.Weights.INT4_AWQ ? calibrate(ck) : null;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = row(ck.floats(p + "input_layernorm.weight", h));
            mlpNorm[l] = row(ck.floats(p + "post_attention_layernorm.weight", h));
            if (qkvBias != null) {
                float[] bq = ck.floats(p + "self_attn.q_proj.bias", q);
                float[] bk = ck.floats(p + "self_attn.k_proj.bias", kv);
                float[] bv = ck.floats(p + "self_attn.v_proj.bias", kv);
                float[] all = new float[q + 2 * kv];
                System.arraycopy(bq, 0, all, 0, q);
                System.arraycopy(bk, 0, all, q, kv);
                System.arraycopy(bv, 0, all, q + kv, kv);
                qkvBias[l] = row(all);
                oBias[l] = ck.has(p + "self_attn.o_proj.bias") ? row(ck.floats(p + "self_attn.o_proj.bias", h)) : null;
            }
            if (qNorm != null) {
                qNorm[l] = row(ck.floats(p + "self_attn.q_norm.weight", d));
                kNorm[l] = row(ck.floats(p + "self_attn.k_norm.weight", d));
            }
            if (calib != null) {
                // one scale per group sharing an input (q/k/v, gate/up), as AWQ folds it into the preceding norm
                qkvT[l] = awqT(l + ".qkv", calib, h, ck.floats(p + "self_attn.q_proj.weight", q, h), ck.floats(p + "self_attn.k_proj.weight", kv, h),
                        ck.floats(p + "self_attn.v_proj.weight", kv, h));
                oT[l] = awqT(l + ".o", calib, q, ck.floats(p + "self_attn.o_proj.weight", h, q));
                gateUpT[l] = awqT(l + ".gateup", calib, h, ck.floats(p + "mlp.gate_proj.weight", inter, h), ck.floats(p + "mlp.up_proj.weight", inter, h));
                downT[l] = awqT(l + ".down", calib, inter, ck.floats(p + "mlp.down_proj.weight", h, inter));
                continue;
            }
            INDArray wq = linearT(ck, p + "self_attn.q_proj.weight", q, h);
            INDArray wk = linearT(ck, p + "self_attn.k_proj.weight", kv, h);
            INDArray wv = linearT(ck, p + "self_attn.v_proj.weight", kv, h);
            qkvT[l] = Nd4j.hstack(wq, wk, wv).dup('c');
            oT[l] = linearT(ck, p + "self_attn.o_proj.weight", h, q);
            INDArray g = linearT(ck, p + "mlp.gate_proj.weight", inter, h);
            INDArray u = linearT(ck, p + "mlp.up_proj.weight", inter, h);
            gateUpT[l] = Nd4j.hstack(g, u).dup('c');
            downT[l] = linearT(ck, p + "mlp.down_proj.weight", h, inter);
        }
        invFreq = LayersRef.ropeInvFreq(d, num.ropeTheta(), num.ropeFactor(), num.lowFreqFactor(), num.highFreqFactor(), num.originalMaxPositions());
    }

    /** AWQ of a group of weights sharing one input (rows stacked), transposed for x · Wᵀ. */
    private INDArray awqT(String key, java.util.Map<String, float[][]> calib, int in, float[]... mats) {
        int len = 0;
        for (float[] m : mats) {
            len += m.length;
        }
        float[] fused = new float[len];
        int o = 0;
        for (float[] m : mats) {
            System.arraycopy(m, 0, fused, o, m.length);
            o += m.length;
        }
        int out = len / in;
        org.llmwb.engine.quant.WeightQuant.Awq a = org.llmwb.engine.quant.WeightQuant.awq(fused, out, in, calib.get(key));
        awqAlphas.put(key, a.alpha());
        return transposed(a.weights(), out, in);
    }

    /** The α AWQ chose per layer group ("0.qkv", "0.o", ...), empty without AWQ. */
    public java.util.Map<String, Double> awqAlphas() {
        return java.util.Collections.unmodifiableMap(awqAlphas);
    }

    /**
     * AWQ's calibration: the unquantized model runs tokens 256..512 of the bundled corpus (the accuracy figures use
     * tokens 0..128) and each linear group's inputs are kept, at most 64 rows spread over the text.
     */
    static java.util.Map<String, float[][]> calibrate(Checkpoint ck) {
        if (!java.nio.file.Files.isRegularFile(ck.tokenizerFile())) {
            throw new InputException("int4-awq calibrates on the bundled corpus and needs the checkpoint's tokenizer.json");
        }
        List<Integer> ids = org.llmwb.engine.tokenizer.BpeTokenizer.load(ck.tokenizerFile()).encode(CheckpointGenerator.corpus());
        int from = Math.min(256, Math.max(0, ids.size() - 256));
        int[] text = ids.subList(from, Math.min(ids.size(), from + 256)).stream().mapToInt(Integer::intValue).toArray();
        LlamaCpu base = new LlamaCpu(ck);
        int bs = 16;
        int[] table = new int[(text.length + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        int stride = Math.max(1, text.length / 64);
        java.util.Map<String, List<float[]>> rows = new java.util.HashMap<>();
        base.tap = (key, a) -> {
            for (long r = 0; r < a.rows(); r += stride) {
                rows.computeIfAbsent(key, x -> new ArrayList<>()).add(a.getRow(r).dup().data().asFloat());
            }
        };
        base.forward(List.of(new SeqInput(text, 0, table)), base.newPool(table.length, bs));
        java.util.Map<String, float[][]> out = new java.util.HashMap<>();
        rows.forEach((k, v) -> out.put(k, v.toArray(new float[0][])));
        return out;
    }

    /** A linear layer's weight [out, in], through the load-time quantization, transposed for x · Wᵀ. */
    private INDArray linearT(Checkpoint ck, String name, int out, int in) {
        return transposed(org.llmwb.engine.quant.WeightQuant.fakeQuant(quant.weights(), ck.floats(name, out, in), out, in), out, in);
    }

    public org.llmwb.engine.quant.Quantization quantization() {
        return quant;
    }

    private static INDArray transposed(float[] w, int out, int in) {
        return Nd4jOps.matrix(w, out, in).transpose().dup('c');
    }

    private static INDArray row(float[] w) {
        return Nd4jOps.matrix(w, 1, w.length);
    }

    public ModelConfig config() {
        return cfg;
    }

    public KvPool newPool(int blocks, int blockSize) {
        return new KvPool(cfg.numLayers(), blocks, blockSize, cfg.numKvHeads() * cfg.headDim(), quant.kv() == org.llmwb.engine.quant.Quantization.Kv.FP8);
    }

    /** Weight bytes as held here (FP32). */
    public long weightBytes() {
        long n = embed.length() + finalNorm.length() + (cfg.tieEmbeddings() ? 0 : lmHeadT.length());
        for (int l = 0; l < cfg.numLayers(); l++) {
            n += attnNorm[l].length() + mlpNorm[l].length() + qkvT[l].length() + oT[l].length() + gateUpT[l].length() + downT[l].length();
        }
        return 4 * n;
    }

    /** Runs one step; returns the logits of each sequence's last new token, [B][vocab]. */
    public float[][] forward(List<SeqInput> batch, KvPool pool) {
        return forward(batch, pool, cfg.numLayers());
    }

    /**
     * Runs one step through the first {@code layers} layers (all of them for the model itself; fewer for an
     * early-exit draft); returns {@link SeqInput#logits()} rows per sequence, in order.
     */
    public float[][] forward(List<SeqInput> batch, KvPool pool, int layers) {
        if (layers < 1 || layers > cfg.numLayers()) {
            throw new IllegalArgumentException("layers " + layers + " of " + cfg.numLayers());
        }
        int hq = cfg.numHeads();
        int hkv = cfg.numKvHeads();
        int d = cfg.headDim();
        int qw = hq * d;
        int kw = hkv * d;
        int total = 0;
        for (SeqInput s : batch) {
            if (s.tokens().length == 0) {
                throw new IllegalArgumentException("a sequence in the step has no new tokens");
            }
            int need = (s.past() + s.tokens().length + pool.blockSize - 1) / pool.blockSize;
            if (s.blockTable().length < need) {
                throw new IllegalArgumentException("block table of " + s.blockTable().length + " blocks for " + (s.past() + s.tokens().length) + " tokens");
            }
            total += s.tokens().length;
        }
        int[] ids = new int[total];
        int[] pos = new int[total];
        int[] slots = new int[total];
        int t = 0;
        for (SeqInput s : batch) {
            for (int i = 0; i < s.tokens().length; i++, t++) {
                ids[t] = s.tokens()[i];
                pos[t] = s.past() + i;
                int blk = s.blockTable()[pos[t] / pool.blockSize];
                if (blk < 0 || blk >= pool.blocks) {
                    throw new IllegalArgumentException("block " + blk + " is outside the pool of " + pool.blocks);
                }
                slots[t] = blk * pool.blockSize + pos[t] % pool.blockSize;
            }
        }
        INDArray x = Nd4jOps.embedding(embed, ids);
        for (int l = 0; l < layers; l++) {
            INDArray xn = Nd4jOps.rmsnorm(x, attnNorm[l], num.rmsEps());
            if (tap != null) {
                tap.accept(l + ".qkv", xn);
            }
            INDArray qkv = Nd4jOps.linear(xn, qkvT[l]);
            if (qkvBias != null) {
                qkv.addiRowVector(qkvBias[l]);
            }
            INDArray q = qkv.get(all(), interval(0, qw)).dup('c');
            INDArray k = qkv.get(all(), interval(qw, qw + kw)).dup('c');
            INDArray v = qkv.get(all(), interval(qw + kw, qw + 2 * kw)).dup('c');
            if (qNorm != null) {
                // RMSNorm over each head's d values: [T, H·d] viewed as [T·H, d]
                q = Nd4jOps.rmsnorm(q.reshape('c', (long) total * hq, d), qNorm[l], num.rmsEps()).reshape('c', total, qw).dup('c');
                k = Nd4jOps.rmsnorm(k.reshape('c', (long) total * hkv, d), kNorm[l], num.rmsEps()).reshape('c', total, kw).dup('c');
            }
            Nd4jOps.rope(q, pos, invFreq, hq, d);
            Nd4jOps.rope(k, pos, invFreq, hkv, d);
            if (pool.fp8) {
                k = fp8(k);
                v = fp8(v);
            }
            writeRows(pool.k[l], k, slots);
            writeRows(pool.v[l], v, slots);
            INDArray attn = Nd4j.create(DataType.FLOAT, total, qw);
            attend(batch, pool, l, q, attn);
            if (tap != null) {
                tap.accept(l + ".o", attn);
            }
            INDArray o = Nd4jOps.linear(attn, oT[l]);
            if (oBias != null && oBias[l] != null) {
                o.addiRowVector(oBias[l]);
            }
            x.addi(o);
            INDArray xn2 = Nd4jOps.rmsnorm(x, mlpNorm[l], num.rmsEps());
            if (tap != null) {
                tap.accept(l + ".gateup", xn2);
            }
            INDArray mlp = Nd4jOps.siluMul(Nd4jOps.linear(xn2, gateUpT[l]));
            if (tap != null) {
                tap.accept(l + ".down", mlp);
            }
            x.addi(Nd4jOps.linear(mlp, downT[l]));
        }
        int rows = batch.stream().mapToInt(SeqInput::logits).sum();
        int[] last = new int[rows];
        t = 0;
        int r = 0;
        for (SeqInput s : batch) {
            t += s.tokens().length;
            for (int j = s.logits(); j > 0; j--) {
                last[r++] = t - j;
            }
        }
        INDArray logits = Nd4jOps.linear(Nd4jOps.rmsnorm(x.getRows(last), finalNorm, num.rmsEps()), lmHeadT);
        float[][] out = new float[rows][];
        for (int b = 0; b < out.length; b++) {
            out[b] = logits.getRow(b).dup().data().asFloat();
        }
        return out;
    }

    /** Attention of every sequence's new tokens: decodes (one token) batched in one call, prefills one by one. */
    private void attend(List<SeqInput> batch, KvPool pool, int l, INDArray q, INDArray out) {
        int hq = cfg.numHeads();
        int hkv = cfg.numKvHeads();
        int d = cfg.headDim();
        List<Integer> decodes = new ArrayList<>();
        int[] start = new int[batch.size()];
        int t = 0;
        for (int b = 0; b < batch.size(); b++) {
            start[b] = t;
            SeqInput s = batch.get(b);
            if (s.tokens().length == 1) {
                decodes.add(b);
            } else {
                int n = s.tokens().length;
                int ctx = s.past() + n;
                INDArray k = Nd4jOps.gatherBlocks(pool.k[l], s.blockTable(), pool.blockSize, ctx);
                INDArray v = Nd4jOps.gatherBlocks(pool.v[l], s.blockTable(), pool.blockSize, ctx);
                out.get(interval(t, t + n), all()).assign(Nd4jOps.prefillAttention(q.get(interval(t, t + n), all()), k, v, s.past(), hq, hkv, d));
            }
            t += s.tokens().length;
        }
        if (!decodes.isEmpty()) {
            int[] rows = decodes.stream().mapToInt(b -> start[b]).toArray();
            int[][] tables = decodes.stream().map(b -> batch.get(b).blockTable()).toArray(int[][]::new);
            int[] lens = decodes.stream().mapToInt(b -> batch.get(b).past() + 1).toArray();
            INDArray r = Nd4jOps.decodeAttention(q.getRows(rows), pool.k[l], pool.v[l], tables, lens, hq, hkv, d, 0, pool.blockSize);
            for (int i = 0; i < rows.length; i++) {
                out.getRow(rows[i]).assign(r.getRow(i));
            }
        }
    }

    /** K or V rounded to FP8 E4M3 (unit scale), as an FP8 cache would hold them. The new tokens attend to the rounded values too. */
    private static INDArray fp8(INDArray a) {
        float[] f = a.data().asFloat();
        for (int i = 0; i < f.length; i++) {
            f[i] = org.llmwb.engine.quant.WeightQuant.fp8Kv(f[i]);
        }
        return Nd4j.create(f, a.shape(), 'c');
    }

    private static void writeRows(INDArray pool, INDArray rows, int[] slots) {
        int i = 0;
        while (i < slots.length) {
            int run = 1;
            while (i + run < slots.length && slots[i + run] == slots[i] + run) {
                run++;
            }
            pool.get(interval(slots[i], slots[i] + run), all()).assign(rows.get(interval(i, i + run), all()));
            i += run;
        }
    }
}
