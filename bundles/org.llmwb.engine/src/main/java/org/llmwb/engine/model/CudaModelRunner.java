package org.llmwb.engine.model;

import java.util.ArrayList;
import java.util.List;

import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.Gemm;
import org.llmwb.backend.cuda.ops.Gemv;
import org.llmwb.backend.cuda.ops.KvCacheOps;
import org.llmwb.backend.cuda.ops.Layers;
import org.llmwb.backend.cuda.ops.PrefillAttention;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.numeric.Half;

/**
 * {@link ModelRunner} on the GPU through our CUDA kernels, BF16 weights and activations with FP32 math inside
 * each kernel: embedding → per layer RMSNorm, one Q/K/V projection, RoPE with the K/V write into the paged cache
 * (one kernel), attention, output projection and residual add, RMSNorm, fused gate/up projection, SiLU·mul, down
 * projection and residual add → final norm and LM head. Linear layers use the GEMV kernels for steps of up to
 * 32 tokens (decode: weight-bandwidth-bound) and the tensor-core GEMM above; with BF16 weights, up to 16 tokens,
 * those GEMVs also do the norms, residual adds and SwiGLU ({@link #useFusedDecode}). A step of decodes only uses the
 * paged decode-attention kernel; a step with any prompt tokens uses flash prefill attention over the whole
 * batch (a decode is a sequence of one new token there). A single sequence's decode step runs as one persistent
 * kernel on Hopper ({@link #usePersistentDecode}: {@code kernels/layers/decode_persistent.cu}).
 */
public final class CudaModelRunner implements ModelRunner {
    private final Gpu gpu;
    private final boolean ownsGpu;
    private final ModelConfig cfg;
    private final float eps;
    private final int blocks;
    private final int blockSize;
    private final int h;
    private final int hq;
    /** K/V heads as stored and attended: the checkpoint's, times {@link #kvRepeat}. */
    private final int hkv;
    /** How many times each checkpoint K/V head is repeated (1, or the GQA group where the kernels do not serve it). */
    private final int kvRepeat;
    private final int d;
    private final int inter;
    private final int vocab;
    private final int vocabPadded;
    private final Layers layers;
    private final Gemm gemm;
    private final Gemv gemv;
    private final KvCacheOps kvOps;
    private final DecodeAttention decode;
    private final PrefillAttention prefill;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final DeviceBuffer embed;
    private final DeviceBuffer lmHead;
    private final DeviceBuffer finalNorm;
    private final DeviceBuffer invFreq;
    private final DeviceBuffer[] attnNorm;
    private final DeviceBuffer[] mlpNorm;
    /** Qwen2-style q/k/v biases [(hq + 2·hkv)·d] and o_proj biases [h] per layer (null entries: none). */
    private final DeviceBuffer[] qkvBias;
    private final DeviceBuffer[] oBias;
    /** Qwen3-style per-head RMSNorm weights [d] of Q and K per layer (null: none). */
    private final DeviceBuffer[] qNorm;
    private final DeviceBuffer[] kNorm;
    /** Q, K and V projections as one matrix [(hq + 2·hkv)·d, h]: one linear instead of three. */
    private final QLinear[] wqkv;
    private final QLinear[] wo;
    private final QLinear[] wGateUp;
    private final QLinear[] wDown;
    private final org.llmwb.engine.quant.Quantization quant;
    private final org.llmwb.backend.cuda.ops.Fp8Convert fp8;
    private final org.llmwb.backend.cuda.ops.Quantizers quantizers;
    /** BF16 scratch the emulated formats (FP8, NVFP4) dequantize one matrix into before the BF16 kernels. */
    private DeviceBuffer scratch;
    private final DeviceBuffer[] kCache;
    private final DeviceBuffer[] vCache;
    private final long weightBytes;
    /** Per-step buffers, grown when a step has more tokens or sequences than any before. */
    private int capTokens;
    private int capSeqs;
    private int capBlocks;
    private DeviceBuffer x;
    private DeviceBuffer xn;
    private DeviceBuffer qkv;
    private DeviceBuffer q;
    private DeviceBuffer attn;
    private DeviceBuffer y;
    private DeviceBuffer gateUp;
    private DeviceBuffer act;
    private DeviceBuffer logits;
    private DeviceBuffer ids;
    private DeviceBuffer positions;
    private DeviceBuffer slots;
    private DeviceBuffer tables;
    private DeviceBuffer lens;
    private boolean graphsOn;
    private final java.util.Map<Integer, Gpu.Graph> graphs = new java.util.HashMap<>();

    /** Opens the GPU and loads the checkpoint's weights onto it (closing the runner closes the GPU). */
    public static CudaModelRunner open(Checkpoint ck, int kvBlocks, int blockSize) {
        Gpu gpu = Gpu.open();
        try {
            return new CudaModelRunner(gpu, true, ck, kvBlocks, blockSize, org.llmwb.engine.quant.Quantization.NONE);
        } catch (RuntimeException e) {
            gpu.close();
            throw e;
        }
    }

    /** Loads the weights onto an open GPU (the caller keeps owning it). */
    public CudaModelRunner(Gpu gpu, Checkpoint ck, int kvBlocks, int blockSize) {
        this(gpu, false, ck, kvBlocks, blockSize, org.llmwb.engine.quant.Quantization.NONE);
    }

    /**
     * Loads the weights onto an open GPU with a load-time quantization of the linear layers: INT8 and INT4 run
     * the W8A16/W4A16 GEMV kernels (a step of more than 16 tokens runs them 16 rows at a time); FP8 and NVFP4
     * weights are stored quantized and dequantized into a BF16 scratch matrix before each BF16 linear
     * (emulated: the memory is saved, the bandwidth is not). FP8 KV is not supported on the GPU runner yet.
     */
    public CudaModelRunner(Gpu gpu, Checkpoint ck, int kvBlocks, int blockSize, org.llmwb.engine.quant.Quantization quant) {
        this(gpu, false, ck, kvBlocks, blockSize, quant);
    }

    private CudaModelRunner(Gpu gpu, boolean ownsGpu, Checkpoint ck, int kvBlocks, int blockSize, org.llmwb.engine.quant.Quantization quant) {
        this.gpu = gpu;
        this.quant = quant;
        if (quant.weights() == org.llmwb.engine.quant.Quantization.Weights.INT4_AWQ) {
            throw new InputException("int4-awq runs on the CPU backend for now: its calibration runs the model in ND4J (the GPU runner has round-to-nearest int4)");
        }
        if (quant.kv() != org.llmwb.engine.quant.Quantization.Kv.NONE) {
            throw new InputException("an FP8 KV cache runs on the CPU backend only for now (the GPU prefill attention reads BF16 K/V)");
        }
        this.ownsGpu = ownsGpu;
        cfg = ck.config();
        Checkpoint.Numerics num = ck.numerics();
        eps = (float) num.rmsEps();
        h = cfg.hiddenSize();
        hq = cfg.numHeads();
        d = cfg.headDim();
        int kvHeads = cfg.numKvHeads();
        if (kvHeads <= 0 || hq % kvHeads != 0) {
            throw new InputException(cfg.name() + ": " + hq + " query heads cannot share " + kvHeads + " K/V heads evenly");
        }
        int group = hq / kvHeads;
        // the attention kernels serve GQA groups 1, 2, 4 and 8; another group (SmolLM's 3) runs as multi-head attention
        // with each K/V head repeated for its queries: exact, at group× the KV-cache memory
        kvRepeat = Integer.bitCount(group) == 1 && group <= 8 ? 1 : group;
        hkv = kvHeads * kvRepeat;
        inter = cfg.intermediateSize();
        vocab = (int) cfg.vocabSize();
        vocabPadded = (vocab + 7) / 8 * 8;
        if (d != 64 && d != 128) {
            throw new InputException(cfg.name() + ": the CUDA runner's attention kernels need head dim 64 or 128 (this model: " + d + ")");
        }
        if (kvRepeat > 1) {
            System.err.println("llmwb: " + cfg.name() + " has a GQA group of " + group + "; the CUDA attention kernels serve 1, 2, 4 and 8, so each K/V head is "
                    + "repeated for its " + group + " query heads (exact; the KV cache takes " + group + "x the memory)");
        }
        if (h % 8 != 0 || inter % 8 != 0) {
            throw new InputException(cfg.name() + ": hidden and intermediate sizes must be multiples of 8 for the GPU kernels");
        }
        if (Integer.bitCount(blockSize) != 1) {
            throw new InputException("KV block size " + blockSize + ": the CUDA kernels need a power of two");
        }
        this.blocks = kvBlocks;
        this.blockSize = blockSize;
        layers = new Layers(gpu);
        gemm = new Gemm(gpu);
        gemv = new Gemv(gpu);
        kvOps = new KvCacheOps(gpu);
        decode = new DecodeAttention(gpu);
        prefill = new PrefillAttention(gpu, hq, hkv, d, blockSize, kvBlocks);
        fp8 = new org.llmwb.backend.cuda.ops.Fp8Convert(gpu);
        quantizers = new org.llmwb.backend.cuda.ops.Quantizers(gpu);
        int nl = cfg.numLayers();
        int qw = hq * d;
        int kw = hkv * d;
        float[] e = ck.floats("model.embed_tokens.weight", vocab, h);
        embed = up("embedding", e);
        float[] head = ck.has("lm_head.weight") ? ck.floats("lm_head.weight", vocab, h) : e;
        lmHead = up("lm head", java.util.Arrays.copyOf(head, vocabPadded * h)); // zero rows pad the vocabulary to a multiple of 8
        finalNorm = up("final norm", ck.floats("model.norm.weight", h));
        float[] inv = LayersRef.ropeInvFreq(d, num.ropeTheta(), num.ropeFactor(), num.lowFreqFactor(), num.highFreqFactor(), num.originalMaxPositions());
        invFreq = own(gpu.upload("rope inverse frequencies", inv));
        attnNorm = new DeviceBuffer[nl];
        mlpNorm = new DeviceBuffer[nl];
        wqkv = new QLinear[nl];
        wo = new QLinear[nl];
        wGateUp = new QLinear[nl];
        wDown = new QLinear[nl];
        kCache = new DeviceBuffer[nl];
        vCache = new DeviceBuffer[nl];
        qkvBias = new DeviceBuffer[nl];
        oBias = new DeviceBuffer[nl];
        qNorm = new DeviceBuffer[nl];
        kNorm = new DeviceBuffer[nl];
        for (int l = 0; l < nl; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = up(p + "input_layernorm", ck.floats(p + "input_layernorm.weight", h));
            mlpNorm[l] = up(p + "post_attention_layernorm", ck.floats(p + "post_attention_layernorm.weight", h));
            float[] qkvRows = java.util.Arrays.copyOf(ck.floats(p + "self_attn.q_proj.weight", qw, h), (qw + 2 * kw) * h); // rows: Q, K, V
            System.arraycopy(repeatHeads(ck.floats(p + "self_attn.k_proj.weight", kw / kvRepeat, h), h), 0, qkvRows, qw * h, kw * h);
            System.arraycopy(repeatHeads(ck.floats(p + "self_attn.v_proj.weight", kw / kvRepeat, h), h), 0, qkvRows, (qw + kw) * h, kw * h);
            wqkv[l] = linearWeights(p + "qkv_proj", qkvRows, qw + 2 * kw, h);
            if (num.qkvBias()) {
                float[] b = java.util.Arrays.copyOf(ck.floats(p + "self_attn.q_proj.bias", qw), qw + 2 * kw);
                System.arraycopy(repeatHeads(ck.floats(p + "self_attn.k_proj.bias", kw / kvRepeat), 1), 0, b, qw, kw);
                System.arraycopy(repeatHeads(ck.floats(p + "self_attn.v_proj.bias", kw / kvRepeat), 1), 0, b, qw + kw, kw);
                qkvBias[l] = up(p + "qkv bias", b);
                if (ck.has(p + "self_attn.o_proj.bias")) {
                    oBias[l] = up(p + "o_proj bias", ck.floats(p + "self_attn.o_proj.bias", h));
                }
            }
            if (num.qkNorm()) {
                qNorm[l] = up(p + "q_norm", ck.floats(p + "self_attn.q_norm.weight", d));
                kNorm[l] = up(p + "k_norm", ck.floats(p + "self_attn.k_norm.weight", d));
            }
            wo[l] = linearWeights(p + "o_proj", ck.floats(p + "self_attn.o_proj.weight", h, qw), h, qw);
            float[] g = ck.floats(p + "mlp.gate_proj.weight", inter, h);
            float[] u = ck.floats(p + "mlp.up_proj.weight", inter, h);
            float[] gu = java.util.Arrays.copyOf(g, 2 * inter * h); // rows: gate then up, as silu_mul reads them
            System.arraycopy(u, 0, gu, inter * h, inter * h);
            wGateUp[l] = linearWeights(p + "gate_up_proj", gu, 2 * inter, h);
            wDown[l] = linearWeights(p + "down_proj", ck.floats(p + "mlp.down_proj.weight", h, inter), h, inter);
            long cacheBytes = 2L * kvBlocks * blockSize * kw;
            kCache[l] = own(gpu.alloc("K cache of layer " + l, cacheBytes));
            vCache[l] = own(gpu.alloc("V cache of layer " + l, cacheBytes));
            gpu.memset(kCache[l], (byte) 0);
            gpu.memset(vCache[l], (byte) 0);
        }
        weightBytes = nl * layerWeightBytes() + 2L * (e.length + (ck.has("lm_head.weight") ? (long) vocab * h : 0) + h);
        if (quant.weights() == org.llmwb.engine.quant.Quantization.Weights.FP8 || quant.weights() == org.llmwb.engine.quant.Quantization.Weights.NVFP4) {
            long most = Math.max(Math.max((long) qw * h, (long) h * qw), Math.max(2L * inter * h, (long) h * inter));
            scratch = own(gpu.alloc("dequantized weight scratch", 2 * most));
        }
    }

    /**
     * K or V rows of the checkpoint's heads [kvHeads·d, cols], each head's d rows repeated {@link #kvRepeat} times in a row
     * (query head j then reads stored head j, which is checkpoint head j / group); unchanged when nothing repeats.
     */
    private float[] repeatHeads(float[] rows, int cols) {
        if (kvRepeat == 1) {
            return rows;
        }
        int headLen = d * cols;
        int heads = rows.length / headLen;
        float[] out = new float[rows.length * kvRepeat];
        for (int hh = 0; hh < heads; hh++) {
            for (int r = 0; r < kvRepeat; r++) {
                System.arraycopy(rows, hh * headLen, out, (hh * kvRepeat + r) * headLen, headLen);
            }
        }
        return out;
    }

    /** One linear layer's weight [n, k] as the quantization stores it on the GPU. */
    private record QLinear(org.llmwb.engine.quant.Quantization.Weights f, int n, int k, DeviceBuffer w, DeviceBuffer scales, float scale) {
        long bytes() {
            return w.bytes() + (scales == null ? 0 : scales.bytes());
        }
    }

    /** Uploads a linear layer's weight in BF16 and, for a quantized format, quantizes it on the GPU with the kernel lab's quantizers. */
    private QLinear linearWeights(String what, float[] w, int n, int kDim) {
        org.llmwb.engine.quant.Quantization.Weights f = quant.weights();
        if (f == org.llmwb.engine.quant.Quantization.Weights.NONE) {
            return new QLinear(f, n, kDim, up(what, w), null, 1f);
        }
        try (DeviceBuffer bf = gpu.upload(what + " (bf16, to quantize)", Half.toBf16(w))) {
            switch (f) {
                case INT8 -> {
                    DeviceBuffer q8 = own(gpu.alloc(what + " int8", (long) n * kDim));
                    DeviceBuffer sc = own(gpu.alloc(what + " scales", 4L * n));
                    quantizers.int8Rows(bf, q8, sc, n, kDim);
                    gpu.sync();
                    return new QLinear(f, n, kDim, q8, sc, 1f);
                }
                case INT4 -> {
                    if (kDim % 128 != 0) {
                        throw new InputException(cfg.name() + ": INT4 on the GPU needs K a multiple of 128 (" + what + " has K = " + kDim + ")");
                    }
                    DeviceBuffer q4 = own(gpu.alloc(what + " int4", (long) n * kDim / 2));
                    DeviceBuffer sc = own(gpu.alloc(what + " group scales", 4L * n * (kDim / 128)));
                    quantizers.int4Groups(bf, q4, sc, null, n, kDim);
                    gpu.sync();
                    return new QLinear(f, n, kDim, q4, sc, 1f);
                }
                case FP8 -> {
                    float scale = org.llmwb.engine.quant.WeightQuant.fp8Scale(w);
                    DeviceBuffer q = own(gpu.alloc(what + " fp8", (long) n * kDim));
                    fp8.fromBf16(org.llmwb.core.numeric.Fp8.Format.E4M3, bf, q, (long) n * kDim, scale);
                    gpu.sync();
                    return new QLinear(f, n, kDim, q, null, scale);
                }
                case NVFP4 -> {
                    float g = org.llmwb.backend.cpu.Quantize.nvfp4GlobalScale(w);
                    DeviceBuffer q = own(gpu.alloc(what + " nvfp4", (long) n * kDim / 2));
                    DeviceBuffer sc = own(gpu.alloc(what + " nvfp4 block scales", (long) n * kDim / 16));
                    quantizers.nvfp4(bf, q, sc, (long) n * kDim, g);
                    gpu.sync();
                    return new QLinear(f, n, kDim, q, sc, g);
                }
                default -> throw new IllegalStateException(f.toString());
            }
        }
    }

    public org.llmwb.engine.quant.Quantization quantization() {
        return quant;
    }

    private DeviceBuffer own(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    private DeviceBuffer up(String what, float[] w) {
        return own(gpu.upload(what, Half.toBf16(w)));
    }

    @Override
    public ModelConfig config() {
        return cfg;
    }

    @Override
    public String backend() {
        return "cuda";
    }

    @Override
    public String device() {
        return gpu.device().name() + " (our CUDA kernels, BF16" + (quant.any() ? "; " + quant.label() : "") + ")";
    }

    @Override
    public void bindToCurrentThread() {
        gpu.bind();
    }

    public Gpu gpu() {
        return gpu;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int kvBlocks() {
        return blocks;
    }

    @Override
    public long kvBytesPerToken() {
        return 2L * cfg.numLayers() * hkv * d * 2;
    }

    @Override
    public long weightBytes() {
        return weightBytes;
    }

    /** Weight bytes one decode step reads: every layer's matrices and norms, the final norm and the (padded) LM head; one embedding row. */
    public long decodeWeightBytes() {
        return cfg.numLayers() * layerWeightBytes() + 2L * h + 2L * vocabPadded * h + 2L * h;
    }

    /** One layer's weights as stored: two BF16 norms, then Q/K/V/O, gate/up and down in the quantization's format (scales included). */
    private long layerWeightBytes() {
        return 2L * 2L * h + wqkv[0].bytes() + wo[0].bytes() + wGateUp[0].bytes() + wDown[0].bytes();
    }

    @Override
    public void copyBlocks(List<int[]> copies) {
        if (copies.isEmpty()) {
            return;
        }
        int[] pairs = new int[2 * copies.size()];
        for (int i = 0; i < copies.size(); i++) {
            pairs[2 * i] = copies.get(i)[0];
            pairs[2 * i + 1] = copies.get(i)[1];
        }
        long blockBytes = 2L * blockSize * hkv * d;
        try (DeviceBuffer dp = gpu.upload("copy-on-write pairs", pairs)) {
            for (int l = 0; l < cfg.numLayers(); l++) {
                kvOps.copyBlocks(kCache[l], vCache[l], pairs, dp, blockBytes);
            }
            gpu.sync();
        }
    }

    private record Staging(DeviceBuffer buffer, int maxBlocks) implements KvStaging {
        @Override
        public void close() {
            buffer.close();
        }
    }

    private final java.util.Map<Gpu, Boolean> peers = new java.util.concurrent.ConcurrentHashMap<>();
    private jcuda.Pointer pinned;
    private long pinnedBytes;

    private long layerBlockBytes() {
        return 2L * blockSize * hkv * d;
    }

    @Override
    public KvStaging newStaging(int maxBlocks) {
        return new Staging(gpu.alloc("KV transfer staging of " + maxBlocks + " blocks", 2L * cfg.numLayers() * layerBlockBytes() * maxBlocks), maxBlocks);
    }

    @Override
    public void gatherKv(int[] ids, KvStaging dst) {
        moveKv(ids, (Staging) dst, true);
    }

    @Override
    public void scatterKv(KvStaging src, int[] ids) {
        moveKv(ids, (Staging) src, false);
    }

    private DeviceBuffer kvPointers;

    /** Every layer's K then V cache, one launch (kv_gather_layers / kv_scatter_layers); staging as cache c's blocks at [c·n, (c+1)·n). */
    private void moveKv(int[] ids, Staging st, boolean gather) {
        moveKv(ids, st.buffer(), st.maxBlocks(), gather);
    }

    private void moveKv(int[] ids, DeviceBuffer staging, int maxBlocks, boolean gather) {
        if (ids.length > maxBlocks) {
            throw new IllegalArgumentException(ids.length + " blocks for a staging buffer of " + maxBlocks);
        }
        if (kvPointers == null) {
            DeviceBuffer[] caches = new DeviceBuffer[2 * cfg.numLayers()];
            for (int l = 0; l < cfg.numLayers(); l++) {
                caches[2 * l] = kCache[l];
                caches[2 * l + 1] = vCache[l];
            }
            kvPointers = own(gpu.uploadPointers("KV cache addresses", caches));
        }
        long lb = layerBlockBytes();
        try (DeviceBuffer dIds = gpu.upload("KV transfer block ids", ids)) {
            if (gather) {
                kvOps.gatherLayers(kvPointers, 2 * cfg.numLayers(), kCache[0].bytes(), staging, ids, dIds, lb);
            } else {
                kvOps.scatterLayers(staging, kvPointers, 2 * cfg.numLayers(), kCache[0].bytes(), ids, dIds, lb);
            }
            gpu.sync();
        }
    }

    /**
     * On another GPU with peer access, the decode side pulls: its scatter kernel reads the prefill GPU's staging
     * over NVLink straight into its pool (one pass over the link, no second staging copy).
     */
    @Override
    public String receiveKv(ModelRunner from, KvStaging src, KvStaging local, int[] ids) {
        if (from instanceof CudaModelRunner other && other.gpu.ordinal() != gpu.ordinal()) {
            Boolean peer = other.peers.get(gpu);
            if (peer == null) {
                peer = other.gpu.enablePeerAccess(gpu) && gpu.enablePeerAccess(other.gpu);
                other.peers.put(gpu, peer);
                gpu.bind();
            }
            if (peer) {
                moveKv(ids, ((Staging) src).buffer(), src.maxBlocks(), false);
                return "peer-pull";
            }
        }
        return ModelRunner.super.receiveKv(from, src, local, ids);
    }

    @Override
    public String copyStaging(KvStaging src, ModelRunner to, KvStaging dst, int nBlocks) {
        if (!(to instanceof CudaModelRunner other)) {
            throw new IllegalArgumentException("KV moves between GPU runners only");
        }
        long bytes = 2L * cfg.numLayers() * layerBlockBytes() * nBlocks;
        DeviceBuffer s = ((Staging) src).buffer();
        DeviceBuffer t = ((Staging) dst).buffer();
        if (other.gpu == gpu) {
            gpu.copy(t, s, bytes);
            return "device";
        }
        if (gpu.ordinal() == other.gpu.ordinal()) {
            Gpu.copyPeer(t, other.gpu, s, gpu, bytes); // two contexts of one GPU: a device-to-device copy between them
            return "device";
        }
        // another GPU: with peer access the receiver pulls instead (receiveKv), so this is the path without it
        if (pinnedBytes < bytes) {
            if (pinned != null) {
                Gpu.freeHost(pinned);
            }
            pinned = Gpu.allocHost(bytes);
            pinnedBytes = bytes;
        }
        Gpu.copyViaHost(t, other.gpu, s, gpu, bytes, pinned);
        return "via-host";
    }

    private DeviceBuffer grow(DeviceBuffer old, String what, long bytes) {
        dropGraphs(); // captured graphs hold the old addresses
        dropPersistent(); // so does the persistent kernel's parameter block
        if (old != null) {
            old.close();
        }
        return gpu.alloc(what, bytes);
    }

    private void ensure(int tokens, int seqs, int maxBlocks) {
        if (tokens > capTokens) {
            int t = Math.max(tokens, Math.max(16, capTokens * 2));
            x = grow(x, "hidden states", 2L * t * h);
            xn = grow(xn, "normed hidden states", 2L * t * h);
            qkv = grow(qkv, "Q/K/V projections", 2L * t * (hq + 2L * hkv) * d);
            q = grow(q, "rotated queries", 2L * t * hq * d);
            attn = grow(attn, "attention output", 2L * t * hq * d);
            y = grow(y, "layer output", 2L * t * h);
            gateUp = grow(gateUp, "gate/up", 4L * t * inter);
            act = grow(act, "MLP activation", 2L * t * inter);
            logits = grow(logits, "logits", 2L * t * vocabPadded);
            ids = grow(ids, "token ids", 4L * t);
            positions = grow(positions, "positions", 4L * t);
            slots = grow(slots, "slots", 4L * t);
            capTokens = t;
        }
        if (seqs > capSeqs || maxBlocks > capBlocks) {
            capSeqs = Math.max(seqs, capSeqs);
            capBlocks = Math.max(maxBlocks, capBlocks);
            tables = grow(tables, "block tables", 4L * capSeqs * capBlocks);
            lens = grow(lens, "context lengths", 4L * capSeqs);
        }
    }

    /** y[M, N] = x[M, K] · Wᵀ: GEMV for up to 16 rows (weight-bandwidth-bound), the tensor-core GEMM above. */
    private void linear(DeviceBuffer in, QLinear w, DeviceBuffer out, int m, int n, int kDim) {
        switch (w.f()) {
            case NONE -> linear(in, w.w(), out, m, n, kDim);
            case INT8, INT4 -> {
                for (int r = 0; r < m; r += 16) {
                    int rows = Math.min(16, m - r);
                    DeviceBuffer xi = r == 0 && rows == m ? in : in.view(2L * r * kDim, 2L * rows * kDim);
                    DeviceBuffer yo = r == 0 && rows == m ? out : out.view(2L * r * n, 2L * rows * n);
                    if (w.f() == org.llmwb.engine.quant.Quantization.Weights.INT8) {
                        gemv.w8a16(w.w(), w.scales(), xi, yo, rows, n, kDim);
                    } else {
                        gemv.w4a16(w.w(), w.scales(), null, xi, yo, rows, n, kDim);
                    }
                }
            }
            case FP8 -> {
                fp8.toBf16(org.llmwb.core.numeric.Fp8.Format.E4M3, w.w(), scratch, (long) n * kDim, w.scale());
                linear(in, scratch, out, m, n, kDim);
            }
            case NVFP4 -> {
                quantizers.nvfp4Dequant(w.w(), w.scales(), scratch, (long) n * kDim, w.scale());
                linear(in, scratch, out, m, n, kDim);
            }
        }
    }

    /**
     * BF16 y[M, N] = x[M, K] · Wᵀ: the GEMV kernel up to {@link #GEMV_ROWS} rows (weight-bandwidth-bound), the
     * tensor-core GEMM above. (Measured on an H200 with the 1B shape: 16-row GEMV passes for 32 rows took 8.7 ms
     * a step against the GEMM's 7.8 ms — the 16-row GEMV is compute-bound — so the GEMM stays above 16.)
     */
    private void linear(DeviceBuffer in, DeviceBuffer w, DeviceBuffer out, int m, int n, int kDim) {
        if (m > GEMV_ROWS && Gemv.bf16Serves(m, kDim)) {
            gemv.bf16(w, in, out, m, n, kDim); // up to 32 rows on the tensor-core GEMV
            return;
        }
        if (m > GEMV_ROWS) {
            gemm.best(in, w, out, m, n, kDim);
            return;
        }
        for (int r = 0; r < m; r += 16) {
            int rows = Math.min(16, m - r);
            DeviceBuffer xi = r == 0 && rows == m ? in : in.view(2L * r * kDim, 2L * rows * kDim);
            DeviceBuffer yo = r == 0 && rows == m ? out : out.view(2L * r * n, 2L * rows * n);
            gemv.bf16(w, xi, yo, rows, n, kDim);
        }
    }

    /** Rows up to which linear layers run as chunked GEMV rather than GEMM. */
    static final int GEMV_ROWS = 16;

    /** Replays decode steps from CUDA graphs captured per batch bucket (1, 2, 4, 8, ...), padding the batch to its bucket. */
    public CudaModelRunner useGraphs(boolean on) {
        graphsOn = on;
        if (!on) {
            dropGraphs();
        }
        return this;
    }

    private void dropGraphs() {
        graphs.values().forEach(Gpu.Graph::close);
        graphs.clear();
    }

    /**
     * GPU time of one decode step alone: CUDA-event-timed replays of the graph captured for a bucket (the inputs of
     * the last step it ran; its KV writes repeat into the same slots). Compared with a whole engine step, the
     * difference is host work: scheduling, metadata copies, the logits download, sampling.
     */
    public float[] timeGraphReplay(int rows, int warmup, int runs) {
        Gpu.Graph g = graphs.get(graphKey(rows, cfg.numLayers()));
        if (g == null) {
            throw new IllegalStateException("no graph captured for a batch of " + rows);
        }
        return gpu.time(warmup, runs, i -> g.replay());
    }

    private static int graphKey(int rows, int layers) {
        return layers << 16 | rows;
    }

    /** The graph bucket a batch of single-token rows runs in. */
    public static int bucketOf(int rows) {
        return bucket(rows);
    }

    static int bucket(int b) {
        return b <= 1 ? 1 : Integer.highestOneBit(b - 1) << 1;
    }

    @Override
    public float[][] run(List<SeqInput> inputs, int layerCount) {
        return downloadLogits(forwardStep(inputs, layerCount));
    }

    private DeviceBuffer greedyRows;
    private DeviceBuffer greedyOut;

    /**
     * A greedy step: the same forward as {@link #run}, then the argmax of each logits row on the GPU
     * ({@code argmax_rows_bf16}), so the step downloads one token id per row instead of the rows (at 32 rows of a
     * 128,256-token vocabulary, 8 MB a step plus their conversion to floats on the host).
     */
    @Override
    public int[] runGreedy(List<SeqInput> inputs) {
        int[] last = forwardStep(inputs, cfg.numLayers());
        if (last.length == 0) {
            return new int[0];
        }
        if (greedyRows == null || greedyRows.bytes() < 4L * last.length) {
            if (greedyRows != null) {
                greedyRows.close();
                greedyOut.close();
            }
            int cap = Math.max(64, Integer.highestOneBit(last.length) << 1);
            greedyRows = gpu.alloc("greedy row indices", 4L * cap);
            greedyOut = gpu.alloc("greedy tokens", 4L * cap);
        }
        gpu.write(greedyRows, last);
        int maxRow = java.util.Arrays.stream(last).max().getAsInt();
        layers.argmaxRows(logits, greedyRows, greedyOut, last.length, vocab, vocabPadded, maxRow);
        return gpu.downloadInts(greedyOut, last.length);
    }

    /** Runs one step's forward on the GPU; returns the rows whose logits the inputs asked for. */
    private int[] forwardStep(List<SeqInput> inputs, int layerCount) {
        if (layerCount < 1 || layerCount > cfg.numLayers()) {
            throw new IllegalArgumentException("layers " + layerCount + " of " + cfg.numLayers());
        }
        int b = inputs.size();
        int t = 0;
        int maxBlocks = 1;
        // every token row a query over its own prefix (decodes, and verify steps that want every row's logits):
        // the paged decode-attention kernel serves them row by row, so a verified row computes exactly what a
        // decode of it would (same kernels, same order), and CUDA graphs apply
        boolean rowsDecode = true;
        for (SeqInput s : inputs) {
            t += s.tokens().length;
            maxBlocks = Math.max(maxBlocks, s.blockTable().length);
            rowsDecode &= s.logits() == s.tokens().length;
        }
        boolean persistentStep = rowsDecode && t == 1 && layerCount == cfg.numLayers() && runsPersistent(1);
        boolean graph = graphsOn && rowsDecode && !persistentStep; // the persistent kernel is one launch already
        int rows = graph ? bucket(t) : t; // a graph serves a whole bucket: the padding rows are dummy queries
        // a graph bakes the table stride in: the pool size fits every table (the persistent kernel's parameters too)
        int stride = graph || persistentStep ? blocks : maxBlocks;
        ensure(rows, rows, stride);
        int[] tok = new int[rows];
        int[] pos = new int[rows];
        int[] slot = new int[rows];
        java.util.Arrays.fill(slot, -1); // padding rows write no KV
        int[] last = new int[inputs.stream().mapToInt(SeqInput::logits).sum()];
        int r = 0;
        int[] qLen = new int[b];
        int[] past = new int[b];
        int[][] tbl = new int[b][];
        int[][] rowTbl = new int[t][];
        int[] ctx = new int[rows];
        java.util.Arrays.fill(ctx, 1); // padding rows attend to one token of block 0 (their table rows are 0)
        int maxCtx = 1;
        int i = 0;
        for (int s = 0; s < b; s++) {
            SeqInput in = inputs.get(s);
            qLen[s] = in.tokens().length;
            past[s] = in.past();
            tbl[s] = in.blockTable();
            maxCtx = Math.max(maxCtx, past[s] + qLen[s]);
            for (int j = 0; j < in.tokens().length; j++, i++) {
                tok[i] = in.tokens()[j];
                pos[i] = in.past() + j;
                int blk = in.blockTable()[pos[i] / blockSize];
                if (blk < 0 || blk >= blocks) {
                    throw new IllegalArgumentException("block " + blk + " is outside the pool of " + blocks);
                }
                slot[i] = blk * blockSize + pos[i] % blockSize;
                rowTbl[i] = in.blockTable();
                ctx[i] = pos[i] + 1;
            }
            for (int j = in.logits(); j > 0; j--) {
                last[r++] = i - j;
            }
        }
        gpu.write(ids, tok);
        gpu.write(positions, pos);
        gpu.write(slots, slot);
        if (rowsDecode) {
            DecodeAttention.validatePaged(rowTbl, java.util.Arrays.copyOf(ctx, t), blockSize, blocks);
            // only the blocks in use, each row at its place in the table stride (a graph's stride is the whole pool:
            // uploading rows × pool entries was 512 KB a step at 32 rows and 4096 blocks)
            gpu.writePitched(tables, stride, DecodeAttention.flatTables(rowTbl, rows, maxBlocks), maxBlocks, rows);
            gpu.write(lens, ctx);
        }
        if (persistentStep) {
            if (tok[0] < 0 || tok[0] >= vocab) { // the kernel reads the embedding row unchecked
                throw new IllegalArgumentException("token id " + tok[0] + " is outside the vocabulary of " + vocab);
            }
            persistentKernel().launch();
        } else if (graph) {
            int key = graphKey(rows, layerCount);
            Gpu.Graph g = graphs.get(key);
            if (g != null) {
                g.replay();
            } else {
                forward(rows, tok, null, stride, maxCtx, layerCount);
                gpu.sync();
                g = gpu.capture(() -> forward(rows, tok, null, stride, blocks * blockSize, layerCount));
                graphs.put(key, g);
            }
        } else {
            forward(t, tok, rowsDecode ? null : prefill.prepare(qLen, past, tbl), stride, maxCtx, layerCount);
        }
        return last;
    }

    /**
     * The logits of rows {@code last}: one copy of the rows they span when that is at most twice the rows asked for
     * (a decode step's rows are consecutive: one copy instead of one per row, which cost about 17 µs each on an H100
     * — half a millisecond a step at 32 rows), else one copy per row (a prefill chunk's last rows lie far apart).
     */
    private float[][] downloadLogits(int[] last) {
        float[][] out = new float[last.length][];
        if (last.length == 0) {
            return out;
        }
        int lo = java.util.Arrays.stream(last).min().getAsInt();
        int hi = java.util.Arrays.stream(last).max().getAsInt();
        if (hi - lo + 1 <= 2 * last.length) {
            short[] span = gpu.downloadShorts(logits, (long) lo * vocabPadded, (hi - lo + 1) * vocabPadded);
            for (int s = 0; s < last.length; s++) {
                float[] row = new float[vocab];
                int at = (last[s] - lo) * vocabPadded;
                for (int j = 0; j < vocab; j++) {
                    row[j] = Half.bf16ToFloat(span[at + j]);
                }
                out[s] = row;
            }
            return out;
        }
        for (int s = 0; s < last.length; s++) {
            out[s] = Half.bf16ToFloat(gpu.downloadShorts(logits, (long) last[s] * vocabPadded, vocab));
        }
        return out;
    }

    /**
     * Fused decode layers: for BF16 weights and steps of up to 16 token rows every linear layer is a fused GEMV
     * (RMSNorm prologue; residual-add or SwiGLU epilogue), so a layer is 6 launches — Q/K/V projection with the
     * attention norm, RoPE + KV write, attention, output projection adding into the residual, gate/up with the MLP
     * norm and SwiGLU, down projection adding into the residual — instead of 15. On by default; off runs the
     * separate kernels (the A/B of {@code DecodeBench}).
     */
    public CudaModelRunner useFusedDecode(boolean on) {
        if (on != fusedDecode) {
            dropGraphs();
        }
        fusedDecode = on;
        return this;
    }

    private boolean fusedDecode = true;

    /**
     * Rows up to which the fused layers run (system property {@code llmwb.decode.fusedMaxRows}). Measured on an H100
     * (1B shape, graph replay, results/h100/run19-splitk-gemv): at 8 rows the fused layers on the split-K GEMV take
     * 1.38 ms against 1.57 separate; at 16 rows 1.62 fused against 1.57 separate, whose large linear layers (gate/up,
     * down) go to the wgmma GEMV; at 32 rows 1.60 separate (the v2 kernels: 1.94). So the fused layers stop at 8.
     */
    static final int FUSED_MAX_ROWS = Integer.getInteger("llmwb.decode.fusedMaxRows", 8);

    /** Whether a step of {@code t} token rows runs the fused decode layers. */
    public boolean runsFused(int t) {
        return fusedDecode && t <= FUSED_MAX_ROWS && quant.weights() == org.llmwb.engine.quant.Quantization.Weights.NONE && Gemv.fusedServes(t, h)
                && Gemv.fusedServes(t, hq * d) && Gemv.fusedServes(t, inter);
    }

    /**
     * Runs the tensor-core GEMVs (5 to 32 rows) on the split-K kernels v3 (default) or on v2 — the A/B of
     * {@code DecodeBench}. Captured graphs are dropped when it changes.
     */
    public CudaModelRunner useSplitKGemv(boolean on) {
        if (on != gemv.splitK()) {
            dropGraphs();
        }
        gemv.splitK(on);
        return this;
    }

    /**
     * Runs single-sequence decode steps as one persistent kernel ({@code decode_persistent_bf16}: the whole forward in
     * one cooperative launch, the weights streamed through shared memory without stopping at layer boundaries) where
     * the GPU and model allow it ({@link #persistentUnsupported}); off runs the fused layers from a CUDA graph (the A/B
     * of {@code DecodeBench}). Default on; system property {@code llmwb.decode.persistent}.
     */
    public CudaModelRunner usePersistentDecode(boolean on) {
        persistentOn = on;
        return this;
    }

    private boolean persistentOn = !"false".equals(System.getProperty("llmwb.decode.persistent"));
    private org.llmwb.backend.cuda.ops.PersistentDecode persistent;
    private String persistentWhyNot;

    private org.llmwb.backend.cuda.ops.PersistentDecode.Shape persistentShape() {
        return new org.llmwb.backend.cuda.ops.PersistentDecode.Shape(cfg.numLayers(), h, hq, hkv, d, inter, vocabPadded, eps, blockSize);
    }

    /** Why single-sequence steps cannot run the persistent kernel here (device, shapes, quantization), or null when they can. */
    public String persistentUnsupported() {
        if (quant.weights() != org.llmwb.engine.quant.Quantization.Weights.NONE) {
            return "quantized weights (" + quant.label() + ") run the GEMV kernels";
        }
        if (qkvBias[0] != null || qNorm[0] != null) {
            return cfg.modelType() + "'s attention biases or per-head q/k norms are not in the persistent kernel";
        }
        if (persistentWhyNot == null) {
            String why = org.llmwb.backend.cuda.ops.PersistentDecode.unsupported(gpu, persistentShape());
            persistentWhyNot = why == null ? "" : why;
            if (why != null && persistentOn) {
                System.err.println("llmwb: single-sequence decode runs the fused layers from CUDA graphs, not the persistent kernel: " + why);
            }
        }
        return persistentWhyNot.isEmpty() ? null : persistentWhyNot;
    }

    /** Whether a decode step of {@code t} single-token rows runs the persistent kernel. */
    public boolean runsPersistent(int t) {
        return persistentOn && t == 1 && persistentUnsupported() == null;
    }

    private org.llmwb.backend.cuda.ops.PersistentDecode persistentKernel() {
        if (persistent == null) {
            DeviceBuffer[][] per = new DeviceBuffer[cfg.numLayers()][];
            for (int l = 0; l < per.length; l++) {
                per[l] = new DeviceBuffer[] {wqkv[l].w(), wo[l].w(), wGateUp[l].w(), wDown[l].w(), attnNorm[l], mlpNorm[l], kCache[l], vCache[l]};
            }
            persistent = new org.llmwb.backend.cuda.ops.PersistentDecode(gpu, persistentShape(), new org.llmwb.backend.cuda.ops.PersistentDecode.Tensors(per,
                    embed, lmHead, finalNorm, x, qkv, attn, act, logits, ids, positions, slots, tables, lens, invFreq));
        }
        return persistent;
    }

    private void dropPersistent() {
        if (persistent != null) {
            persistent.close();
            persistent = null;
        }
    }

    /**
     * The persistent kernel of the last single-sequence step, bound to its inputs (a launch repeats that step, its KV
     * write into the same slot): what the benchmark times, profiles and sweeps.
     */
    public org.llmwb.backend.cuda.ops.PersistentDecode persistentDecode() {
        if (persistent == null) {
            throw new IllegalStateException("no single-sequence step has run on the persistent kernel");
        }
        return persistent;
    }

    /** Every launch of one step; pure kernel launches (capturable), reading the metadata already on the GPU. */
    private void forward(int t, int[] tok, PrefillAttention attention, int stride, int maxCtx, int layerCount) {
        int qw = hq * d;
        int kw = hkv * d;
        DecodeAttention.Shape shape = new DecodeAttention.Shape(t, hq, hkv, d, DecodeAttention.Dtype.BF16);
        boolean fuse = runsFused(t);
        layers.embedding(embed, vocab, h, tok, ids, x);
        for (int l = 0; l < layerCount; l++) {
            if (fuse) {
                gemv.bf16Fused(wqkv[l].w(), x, qkv, t, qw + 2 * kw, h, attnNorm[l], eps, Gemv.Epilogue.STORE);
            } else {
                layers.rmsnorm(x, attnNorm[l], xn, t, h, eps);
                linear(xn, wqkv[l], qkv, t, qw + 2 * kw, h);
            }
            if (qkvBias[l] != null || qNorm[l] != null) {
                layers.qkvBiasNorm(qkv, qkvBias[l], qNorm[l], kNorm[l], t, hq, hkv, d, eps);
            }
            layers.ropeQkvPaged(qkv, positions, invFreq, q, kCache[l], vCache[l], slots, t, hq, hkv, d);
            if (attention == null) {
                decode.run(shape, q, kCache[l], vCache[l], tables, stride, blockSize, lens, maxCtx, 0, attn, 0, null);
            } else {
                attention.best(q, attn, kCache[l], vCache[l]);
            }
            if (fuse) {
                gemv.bf16Fused(wo[l].w(), attn, x, t, h, qw, null, 0f, Gemv.Epilogue.ADD);
                if (oBias[l] != null) {
                    layers.addRowBias(x, oBias[l], t, h);
                }
                gemv.bf16Fused(wGateUp[l].w(), x, act, t, 2 * inter, h, mlpNorm[l], eps, Gemv.Epilogue.SILU);
                gemv.bf16Fused(wDown[l].w(), act, x, t, h, inter, null, 0f, Gemv.Epilogue.ADD);
            } else {
                linear(attn, wo[l], y, t, h, qw);
                if (oBias[l] != null) {
                    layers.addRowBias(y, oBias[l], t, h);
                }
                layers.add(x, y, (long) t * h);
                layers.rmsnorm(x, mlpNorm[l], xn, t, h, eps);
                linear(xn, wGateUp[l], gateUp, t, 2 * inter, h);
                layers.siluMul(gateUp, act, t, inter);
                linear(act, wDown[l], y, t, h, inter);
                layers.add(x, y, (long) t * h);
            }
        }
        if (fuse) {
            gemv.bf16Fused(lmHead, x, logits, t, vocabPadded, h, finalNorm, eps, Gemv.Epilogue.STORE);
        } else {
            layers.rmsnorm(x, finalNorm, xn, t, h, eps);
            linear(xn, lmHead, logits, t, vocabPadded, h);
        }
    }

    @Override
    public void close() {
        if (pinned != null) {
            Gpu.freeHost(pinned);
        }
        dropGraphs();
        dropPersistent();
        prefill.close();
        for (DeviceBuffer bf : new DeviceBuffer[] {x, xn, qkv, q, attn, y, gateUp, act, logits, ids, positions, slots, tables, lens, greedyRows, greedyOut}) {
            if (bf != null) {
                bf.close();
            }
        }
        owned.forEach(DeviceBuffer::close);
        if (ownsGpu) {
            gpu.close();
        }
    }
}
