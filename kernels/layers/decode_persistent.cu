// Persistent batch-1 decode step: the whole forward of one token (embedding, every layer, final norm, LM head)
// in one cooperative launch of one CTA per SM (sm_90: bulk copies and mbarriers; the Java launcher picks it on
// compute capability 9.0 and up only, the compute_80 PTX of the fatbin traps).
//
//   decode_persistent_bf16(addrs, ints)   BF16 weights and activations, FP32 math. addrs: the 19 addresses of
//                                         Params below, in order; ints: its 16 four-byte fields (eps and scale
//                                         as float bits). The Java launcher, PersistentDecode, writes both.
//
// Why: at batch 1 a decode step reads every weight once and is bound by HBM bandwidth, but run as ~100 kernels
// (even from a CUDA graph) HBM idles at every kernel boundary (the last CTAs of one kernel drain, the next one's
// first loads start), and while RoPE and attention run (a few CTAs, latency-bound): on an H100 that idle time was
// a third of the step (results/h100/run17-decode-fusion). Here the weights never wait for activations:
// - Each CTA owns fixed row slices of every matrix (rows split evenly; for Q/K/V, gate/up and the LM head the CTAs
//   that take an extra row rotate from matrix to matrix, for O and down they do not, so a CTA always owns the same
//   rows of the residual stream). A producer thread walks the CTA's slices of the whole step — Q/K/V, O, gate/up,
//   down of layer 0, then of layer 1, ..., then the LM head — copying 8 KB pieces into a ring of shared-memory
//   stages with 1-D bulk copies (cp.async.bulk, completion counted on an mbarrier per stage; evict-first in L2), as
//   far ahead as the ring allows (about 23 stages, 184 KB per SM). A second thread of the producer warp prefetches
//   the pieces after those into L2 (cp.async.bulk.prefetch), a set distance ahead of the producer. Neither depends
//   on any activation, so HBM keeps streaming while the consumers wait at grid barriers or run attention.
// - Fifteen consumer warps (with the producer warp, 4 warps per scheduler and up to 128 registers) take the pieces
//   in turn, piece i to warp i % 15, so several stages are worked on at once; a warp streams its piece with four
//   16-byte loads per lane in flight against the phase's input (BF16 in shared memory: one conflict-free load per
//   chunk), sums each row across lanes once, and releases the stage. At the end of a phase one pass sums the
//   warps' partials per row in warp order (results are deterministic) and applies the epilogue (store, residual
//   add, SwiGLU) for the CTA's rows.
// - Phases meet at grid barriers (cooperative launch: every CTA is resident). After a barrier, activations
//   written by other CTAs are read through L2 (ld.global.cg): L1 is not coherent.
// - Attention: (query head, context partition) items over the CTAs; a partition is at most what one batch of loads
//   covers (attnTokens: 4 passes of all warps, 240 tokens at head dim 64, 120 at 128). The cached K/V of an item do
//   not depend on the step, so a phase ahead (during the previous layer's down projection) its CTA pulls them into
//   L2, and the item issues all of its loads at once, before reading Q/K/V. It applies RoPE to its query and to its
//   KV head's new key itself (the first item of a KV group also writes K and V into the paged cache), attends over
//   its partition — the new token from shared memory, never read back from the cache — with an online softmax in
//   base 2, merges each warp's token subgroups by shuffles, and for several partitions the last item of a head
//   (atomic counter) merges them. The step's length, position and slot are read once per launch. The rounding
//   points match the separate kernels: Q/K/V, the normed inputs, the rotated q and k, the attention output, the
//   residual stream and the SwiGLU activation are BF16.
// Where the time goes (H100, Llama-3.2-1B shape, results/h100/run20-persistent-decode and run21-attention-latency):
// about 0.96–0.99 ms against 1.05–1.06 for the fused layers from a graph in the same call. Per CTA about 200 µs
// go in 81 grid barriers (about 2.5 µs each: under a saturated memory system every release and poll is a slow
// round trip), 110 in epilogues (including the wait for a phase's last pieces), 75 reading phase inputs, and
// attention up to 71 µs on the CTAs that run it (107 before the K/V prefetch and the batched loads). Stalls
// clustered around attention (Q/K/V barrier, attention, its barrier, O's barrier) still last longer than the ring
// and the L2 prefetch cover, and HBM idles then: the producer waits about 200 µs per step for a free stage. The
// profile counters (Params.profile) measure this per CTA. (Measured slower, not kept: attention items waiting only
// for the CTAs that wrote their head's Q/K/V through per-CTA release flags, with the other CTAs going straight on:
// 0.988 against 0.977 ms with the grid barrier, run21-attention-latency/producer-flags.)
// Requirements (checked by the launcher): hidden, query width (heads × head dim) and intermediate sizes multiples
// of 256; head dim 64 or 128; query heads a multiple of KV heads; one sequence.
#include <cuda_bf16.h>
#include <math_constants.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
#define LLMWB_BULK 1
#else
#define LLMWB_BULK 0
#endif

namespace {

constexpr int CWARPS = 15;  // consumer warps: with the producer, 16 warps, 4 per scheduler, so up to 128 registers each
constexpr int CONSUMERS = CWARPS * 32;
constexpr int THREADS = CONSUMERS + 32;     // and one producer warp
constexpr int NP = 4;                       // attention: passes whose K/V loads an item issues at once
constexpr int FLAG_NO_KV_PREFETCH = 1;      // Params.flags: do not prefetch the cached K/V into L2 a phase ahead
#if LLMWB_BULK
constexpr int STAGE_ELEMS = 4096;  // bf16 per ring stage: 8 KB
constexpr int MAX_STAGES = 32;
#endif

struct Layer {  // one layer's tensors (8 addresses, as PersistentDecode uploads them)
    const __nv_bfloat16* wqkv;      // [(HQ + 2·HKV)·D, H]: Q rows, K rows, V rows
    const __nv_bfloat16* wo;        // [H, HQ·D]
    const __nv_bfloat16* wgu;       // [2·I, H]: gate rows then up rows
    const __nv_bfloat16* wdown;     // [H, I]
    const __nv_bfloat16* attnNorm;  // [H]
    const __nv_bfloat16* mlpNorm;   // [H]
    __nv_bfloat16* kCache;          // [blocks, blockSize, HKV, D]
    __nv_bfloat16* vCache;
};

struct Params {
    // addresses (8 bytes each)
    const Layer* layers;
    const __nv_bfloat16* embed;      // [vocab, H]
    const __nv_bfloat16* lmHead;     // [vocabPadded, H]
    const __nv_bfloat16* finalNorm;  // [H]
    __nv_bfloat16* x;                // [H] residual stream
    __nv_bfloat16* qkv;              // [(HQ + 2·HKV)·D]
    __nv_bfloat16* attn;             // [HQ·D]
    __nv_bfloat16* act;              // [I]
    __nv_bfloat16* logits;           // [vocabPadded]
    const int* ids;                  // [1] token
    const int* positions;            // [1]
    const int* slots;                // [1] cache slot of the new token (−1: none)
    const int* table;                // block table of the sequence
    const int* lens;                 // [1] context length including the new token
    const float* invFreq;            // [D/2]
    float* attnWs;                   // [HQ, maxParts, D + 2] partial attention results
    unsigned* attnCounters;          // [HQ], zero between uses
    unsigned long long* barrier;     // grid-barrier arrivals, counted up across launches
    long long* profile;              // null, or [CTAs][8] cycle counters (PROF_* below)
    // 4-byte fields
    int nLayers, vocabPadded, H, HQ, HKV, D, I, blockShift;
    float eps, scale;
    int stages, accRows, xsFloats, maxParts;
    int prefetch;  // pieces the L2 prefetcher runs ahead of the producer (0: none)
    int flags;     // FLAG_* above (A/B switches for the benchmark)
};
static_assert(offsetof(Params, nLayers) == 19 * 8, "Params layout: PersistentDecode writes 19 addresses first");
static_assert(sizeof(Params) == 19 * 8 + 16 * 4, "Params layout: then 16 four-byte fields");

// The step's sequence metadata, read once at the start (it does not change within a launch), so attention's
// critical path does not wait on L2 round trips for it in every layer.
struct Step {
    int past;   // cached tokens; the new one is at position past
    int pos;    // the new token's position
    int slot;   // its cache slot (−1: none)
    int parts;  // context partitions per query head (attnParts)
};

#if LLMWB_BULK
__device__ __forceinline__ uint32_t sa(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ void consumersSync() { asm volatile("bar.sync 1, %0;" ::"n"(CONSUMERS) : "memory"); }

__device__ __forceinline__ float warpSum(float s) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    return s;
}

// Σ of the 8 bf16 weights in w times the 8 bf16 inputs in x, in FP32 (two independent chains)
__device__ __forceinline__ float dot8(const uint4& w, const uint4& x) {
    const float2 w0 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w.x));
    const float2 w1 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w.y));
    const float2 w2 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w.z));
    const float2 w3 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w.w));
    const float2 x0 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.x));
    const float2 x1 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.y));
    const float2 x2 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.z));
    const float2 x3 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.w));
    const float4 a = make_float4(x0.x, x0.y, x1.x, x1.y);
    const float4 b = make_float4(x2.x, x2.y, x3.x, x3.y);
    float s0 = w0.x * a.x, s1 = w2.x * b.x;
    s0 = fmaf(w0.y, a.y, s0);
    s1 = fmaf(w2.y, b.y, s1);
    s0 = fmaf(w1.x, a.z, s0);
    s1 = fmaf(w3.x, b.z, s1);
    s0 = fmaf(w1.y, a.w, s0);
    s1 = fmaf(w3.y, b.w, s1);
    return s0 + s1;
}

__device__ __forceinline__ float bfr(float v) { return __bfloat162float(__float2bfloat16(v)); }  // round to bf16

__device__ __forceinline__ void mbarInit(uint64_t* b, uint32_t n) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(sa(b)), "r"(n)); }
__device__ __forceinline__ void mbarExpectTx(uint64_t* b, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(sa(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarArrive(uint64_t* b) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(sa(b)) : "memory"); }
__device__ __forceinline__ void mbarWait(uint64_t* b, uint32_t parity) {
    asm volatile(
            "{\n"
            ".reg .pred done;\n"
            "WAIT:\n"
            "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
            "@!done bra WAIT;\n"
            "}\n" ::"r"(sa(b)),
            "r"(parity)
            : "memory");
}
__device__ __forceinline__ void bulkLoad(void* dst, const void* src, uint32_t bytes, uint64_t* bar, uint64_t policy) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;" ::"r"(sa(dst)), "l"(src),
            "r"(bytes), "r"(sa(bar)), "l"(policy)
            : "memory");
}

// Rows [lo, hi) of an N-row matrix for this CTA; `rot` moves the CTAs that take an extra row from matrix to matrix.
__device__ __forceinline__ void rowsOf(int N, int rot, int& lo, int& hi) {
    const int g = static_cast<int>(gridDim.x);
    const int c = (static_cast<int>(blockIdx.x) + rot) % g;
    lo = static_cast<int>(static_cast<long long>(N) * c / g);
    hi = static_cast<int>(static_cast<long long>(N) * (c + 1) / g);
}

// One weight phase: up to two row segments of one matrix (gate/up has two), each landing at accBase in the CTA's
// accumulators.
struct Seg {
    const __nv_bfloat16* w;
    int k;
    int r0, r1;
    int accBase;
};
struct Phase {
    Seg s[2];
    int n;
};

enum { PH_QKV = 0, PH_O = 1, PH_GU = 2, PH_DOWN = 3, PH_LM = 4 };

// Where a CTA's time goes, when Params.profile is set (clock64 cycles, summed over the step): consumer warp 0
// waiting for ring stages, its dot products, consumer thread 0 in grid barriers, attention, phase inputs and
// epilogues, the producer waiting for free stages, and the whole kernel.
enum { PROF_WAIT_FULL = 0, PROF_COMPUTE = 1, PROF_BARRIER = 2, PROF_ATTENTION = 3, PROF_INPUT = 4, PROF_EPILOGUE = 5, PROF_WAIT_EMPTY = 6, PROF_TOTAL = 7 };

__device__ __forceinline__ Phase phaseOf(const Params& p, int layer, int ph) {
    Phase f;
    f.n = 1;
    // Q/K/V, gate/up and the LM head rotate which CTAs take an extra row; O and down do not: each CTA owns the same
    // rows of the residual stream throughout (the embedding's too), so it adds into its own copy of them
    const int rot = ph == PH_O || ph == PH_DOWN ? 0 : (layer * 5 + ph) * 37;
    int lo, hi;
    if (ph == PH_LM) {
        rowsOf(p.vocabPadded, rot, lo, hi);
        f.s[0] = {p.lmHead, p.H, lo, hi, 0};
        return f;
    }
    const Layer& L = p.layers[layer];
    switch (ph) {
        case PH_QKV:
            rowsOf((p.HQ + 2 * p.HKV) * p.D, rot, lo, hi);
            f.s[0] = {L.wqkv, p.H, lo, hi, 0};
            break;
        case PH_O:
            rowsOf(p.H, rot, lo, hi);
            f.s[0] = {L.wo, p.HQ * p.D, lo, hi, 0};
            break;
        case PH_GU:
            rowsOf(p.I, rot, lo, hi);
            f.s[0] = {L.wgu, p.H, lo, hi, 0};
            f.s[1] = {L.wgu, p.H, p.I + lo, p.I + hi, hi - lo};
            f.n = 2;
            break;
        default:
            rowsOf(p.H, rot, lo, hi);
            f.s[0] = {L.wdown, p.I, lo, hi, 0};
            break;
    }
    return f;
}

// The pieces of a segment, in order: whole rows while a row fits in a stage (K ≤ 4096), else 4096-wide slices of
// one row. f(src, accRow, k0, kn, rows).
template <typename F>
__device__ __forceinline__ void forPieces(const Seg& s, F&& f) {
    if (s.k <= STAGE_ELEMS) {
        const int rpp = STAGE_ELEMS / s.k;
        for (int r = s.r0; r < s.r1; r += rpp) {
            f(s.w + static_cast<long long>(r) * s.k, s.accBase + r - s.r0, 0, s.k, min(rpp, s.r1 - r));
        }
    } else {
        for (int r = s.r0; r < s.r1; r++) {
            for (int k0 = 0; k0 < s.k; k0 += STAGE_ELEMS) {
                f(s.w + static_cast<long long>(r) * s.k + k0, s.accBase + r - s.r0, k0, min(STAGE_ELEMS, s.k - k0), 1);
            }
        }
    }
}

// The pieces of every segment of a phase, in order.
template <typename F>
__device__ __forceinline__ void forPhasePieces(const Phase& f, F&& g) {
    for (int s = 0; s < f.n; s++) forPieces(f.s[s], g);
}

// Every weight phase of the step in the order the producer, the prefetcher and the consumers walk them.
template <typename F>
__device__ __forceinline__ void forPhases(const Params& p, F&& f) {
    for (int l = 0; l < p.nLayers; l++) {
        for (int ph = PH_QKV; ph <= PH_DOWN; ph++) f(l, ph);
    }
    f(p.nLayers, PH_LM);
}

// Grid barrier among the consumer threads of all CTAs (the producers run on). One 64-bit arrival counter only
// ever grows: every launch passes the same number of barriers, so barrier i of a launch completes when the counter
// reaches base + (i + 1)·CTAs, where base — the count before the launch — is the counter rounded down to a multiple
// of (barriers per launch)·CTAs (no CTA can have arrived more than once when another reads it at the start). One
// release-add per CTA, then acquire loads until the count is reached; nothing to reset. (Measured slower on an
// H100: a flag per CTA polled by a whole warp, 426 against 293 µs of barrier time per step; relaxed polling with
// one fence after, 0.985 against 0.956 ms a step.)
__device__ __forceinline__ void gridSync(unsigned long long* bar, unsigned long long target, int ct) {
    consumersSync();
    if (ct == 0) {
        // release: the CTA's writes before the bar.sync above are ordered before the arrival (no separate fence)
        asm volatile("red.release.gpu.global.add.u64 [%0], 1;" ::"l"(bar) : "memory");
        unsigned long long v;
        do {
            asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(bar) : "memory");
        } while (v < target);
    }
    consumersSync();
}

// Block-wide (consumer) sum; red holds CWARPS floats.
__device__ float consumersSum(float v, float* red, int ct) {
    v = warpSum(v);
    if (ct % 32 == 0) red[ct / 32] = v;
    consumersSync();
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < CWARPS; w++) s += red[w];
    consumersSync();
    return s;
}

// The phase's input in BF16 shared memory (one conflict-free 16-byte load per lane per weight chunk): RMSNorm(x)·gain
// for Q/K/V, gate/up and the LM head (rounded to BF16, as the separate rmsnorm kernel stores it); the attention
// output for O; the SwiGLU activation for down.
__device__ void loadInput(const Params& p, int layer, int ph, __nv_bfloat16* xb, float* red, int ct) {
    if (ph == PH_O || ph == PH_DOWN) {
        const uint4* src = reinterpret_cast<const uint4*>(ph == PH_O ? p.attn : p.act);
        const int n = (ph == PH_O ? p.HQ * p.D : p.I) / 8;
        for (int i = ct; i < n; i += CONSUMERS) reinterpret_cast<uint4*>(xb)[i] = __ldcg(src + i);
        consumersSync();
        return;
    }
    const __nv_bfloat16* gain = ph == PH_LM ? p.finalNorm : ph == PH_QKV ? p.layers[layer].attnNorm : p.layers[layer].mlpNorm;
    const int n = p.H / 8;  // ≤ 4 chunks per thread (the launcher checks H ≤ 16384)
    uint4 v[4];
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int i = ct + j * CONSUMERS;
        if (i < n) {
            v[j] = __ldcg(reinterpret_cast<const uint4*>(p.x) + i);
            const uint32_t* w = reinterpret_cast<const uint32_t*>(&v[j]);
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w[e]));
                ss = fmaf(f.x, f.x, fmaf(f.y, f.y, ss));
            }
        }
    }
    const float inv = rsqrtf(consumersSum(ss, red, ct) / p.H + p.eps);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int i = ct + j * CONSUMERS;
        if (i < n) {
            const uint4 g = reinterpret_cast<const uint4*>(gain)[i];
            const uint32_t* w = reinterpret_cast<const uint32_t*>(&v[j]);
            const uint32_t* gw = reinterpret_cast<const uint32_t*>(&g);
            uint4 o;
            uint32_t* ow = reinterpret_cast<uint32_t*>(&o);
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w[e]));
                const float2 gf = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&gw[e]));
                const __nv_bfloat162 r = __floats2bfloat162_rn(f.x * inv * gf.x, f.y * inv * gf.y);
                ow[e] = *reinterpret_cast<const uint32_t*>(&r);
            }
            reinterpret_cast<uint4*>(xb)[i] = o;
        }
    }
    consumersSync();
}

// After a phase's pieces: sum the warps' partials per row (warp order) and apply the phase's epilogue.
__device__ __forceinline__ float rowSum(float* part, int stride, int i) {  // warp order; clears the slots
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < CWARPS; w++) {
        s += part[w * stride + i];
        part[w * stride + i] = 0.f;
    }
    return s;
}

__device__ void finishPhase(const Params& p, int ph, const Phase& f, float* part, float* xown, int ct) {
    consumersSync();  // every warp's pieces are in
    const int rows = f.s[0].r1 - f.s[0].r0;
    const int r0 = f.s[0].r0;
    // one pass: thread i sums row i (gate/up: gate row i and up row rows + i) and clears the slots it read; the
    // next phase's partial sums are written after the grid barrier's bar.sync
    for (int i = ct; i < rows; i += CONSUMERS) {
        const float s = rowSum(part, p.accRows, i);
        if (ph == PH_GU) {
            const float u = rowSum(part, p.accRows, rows + i);
            p.act[r0 + i] = __float2bfloat16(s / (1.f + __expf(-s)) * u);
        } else if (ph == PH_O || ph == PH_DOWN) {
            // the CTA owns these rows of the residual stream in every phase that adds to it: its copy is current
            const float nx = bfr(xown[i] + s);
            xown[i] = nx;
            p.x[r0 + i] = __float2bfloat16(nx);
        } else if (ph == PH_QKV) {
            p.qkv[r0 + i] = __float2bfloat16(s);
        } else {
            p.logits[r0 + i] = __float2bfloat16(s);
        }
    }
}

// Context tokens one attention item takes in one batch of loads: NP passes of all consumer warps, each pass a
// token per D/8 lanes (240 at head dim 64, 120 at 128).
__device__ __forceinline__ int attnTokens(int D) { return NP * CWARPS * (32 / (D / 8)); }

// Context partitions per query head: one batch of loads each while there are CTAs for it (a merge costs two
// round trips, a second batch one; the launcher sizes the partials for maxParts).
__device__ __forceinline__ int attnParts(const Params& p, int past) {
    const int parts = (past + attnTokens(p.D) - 1) / attnTokens(p.D);
    return max(1, min(parts, min(p.maxParts, static_cast<int>(gridDim.x) / p.HQ)));
}

// Cached tokens [t0, t1) of context partition `part` of a query head (stp.parts partitions of equal length).
__device__ __forceinline__ void partSpan(const Step& stp, int part, int& t0, int& t1) {
    const int per = (stp.past + stp.parts - 1) / stp.parts;
    t0 = part * per;
    t1 = min(stp.past, t0 + per);
}

// Element offset of token t's row for KV head kvh in a layer's paged K or V cache (through the block table).
__device__ __forceinline__ long long cacheOffset(const Params& p, int t, int kvh) {
    const long long row = (static_cast<long long>(__ldg(p.table + (t >> p.blockShift))) << p.blockShift) + (t & ((1 << p.blockShift) - 1));
    return (row * p.HKV + kvh) * p.D;
}

// Pulls the cached K/V rows this CTA's attention items of `layer` will read into L2, a phase or more before they
// are read: they do not depend on the step (the new token's row is written, and read from shared memory, by the
// attention itself), so the item after the Q/K/V barrier finds them in L2 instead of waiting on HBM under the
// weight stream.
__device__ void prefetchHistory(const Params& p, const Step& stp, int layer, int ct) {
    if (p.flags & FLAG_NO_KV_PREFETCH) return;
    const int G = p.HQ / p.HKV;
    const Layer& L = p.layers[layer];
    for (int item = blockIdx.x; item < p.HQ * stp.parts; item += gridDim.x) {
        const int kvh = item / stp.parts / G;
        int t0, t1;
        partSpan(stp, item % stp.parts, t0, t1);
        for (int i = ct; i < 2 * (t1 - t0); i += CONSUMERS) {
            const __nv_bfloat16* src = ((i & 1) != 0 ? L.vCache : L.kCache) + cacheOffset(p, t0 + i / 2, kvh);
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(src), "r"(static_cast<uint32_t>(p.D) * 2) : "memory");
        }
    }
}

// One (query head, context partition) item of attention. sm: scratch of at least 3·D + CWARPS·(D + 2) floats.
template <int D>
__device__ void attentionItem(const Params& p, const Step& stp, int layer, int h, int part, float* sm, int ct) {
    constexpr int LPT = D / 8;     // lanes per token row (8 elements each)
    constexpr int TPW = 32 / LPT;  // tokens per warp step
    constexpr int NSLOT = CWARPS;  // one partial result per warp (its token subgroups merged by shuffles)
    const Layer& L = p.layers[layer];
    const int G = p.HQ / p.HKV;
    const int kvh = h / G;
    const int parts = stp.parts;
    float* qs = sm;
    float* kn = sm + D;
    float* vn = sm + 2 * D;
    float* slM = sm + 3 * D;
    float* slL = slM + NSLOT;
    float* slA = slL + NSLOT;
    const float qscale = p.scale * 1.4426950408889634f;
    const int warp = ct / 32, lane = ct % 32;
    const int sub = lane / LPT, sl = lane % LPT;
    // the cached tokens' K/V do not depend on this step (and were prefetched into L2 a phase ahead): all of a
    // batch of NP passes' loads go out at once, the first batch's before the Q/K/V reads and RoPE below, so an item
    // of up to NP passes (attnTokens) costs one L2 round trip, not one per pass
    int t0, t1;
    partSpan(stp, part, t0, t1);
    auto load = [&](int tw, uint4& kr, uint4& vr) {
        const int t = tw + sub;
        if (t >= t1) return false;
        const long long off = cacheOffset(p, t, kvh) + sl * 8;
        kr = *reinterpret_cast<const uint4*>(L.kCache + off);
        vr = *reinterpret_cast<const uint4*>(L.vCache + off);
        return true;
    };
    constexpr int PASS = CWARPS * TPW;  // tokens per pass of all warps
    uint4 kb[NP], vb[NP];
    bool okb[NP];
    auto loadBatch = [&](int tb) {
#pragma unroll
        for (int j = 0; j < NP; j++) {
            kb[j] = vb[j] = make_uint4(0u, 0u, 0u, 0u);
            okb[j] = load(tb + j * PASS, kb[j], vb[j]);
        }
    };
    loadBatch(t0 + warp * TPW);
    if (ct < D / 2) {
        const int i = ct;
        float sn, cs;
        sincosf(static_cast<float>(stp.pos) * p.invFreq[i], &sn, &cs);
        const __nv_bfloat16* qrow = p.qkv + h * D;
        const __nv_bfloat16* krow = p.qkv + (p.HQ + kvh) * D;
        const float q1 = __bfloat162float(__ldcg(qrow + i)), q2 = __bfloat162float(__ldcg(qrow + i + D / 2));
        const float k1 = __bfloat162float(__ldcg(krow + i)), k2 = __bfloat162float(__ldcg(krow + i + D / 2));
        qs[i] = bfr(q1 * cs - q2 * sn) * qscale;
        qs[i + D / 2] = bfr(q2 * cs + q1 * sn) * qscale;
        kn[i] = bfr(k1 * cs - k2 * sn);
        kn[i + D / 2] = bfr(k2 * cs + k1 * sn);
    } else if (ct < D) {
        const int i = ct - D / 2;
        const __nv_bfloat16* vrow = p.qkv + (p.HQ + p.HKV + kvh) * D;
        vn[i] = __bfloat162float(__ldcg(vrow + i));
        vn[i + D / 2] = __bfloat162float(__ldcg(vrow + i + D / 2));
    }
    consumersSync();
    const int slot = stp.slot;
    if (part == 0 && h % G == 0 && slot >= 0 && ct < D) {
        const long long off = (static_cast<long long>(slot) * p.HKV + kvh) * D + ct;
        L.kCache[off] = __float2bfloat16(kn[ct]);
        L.vCache[off] = __float2bfloat16(vn[ct]);
    }
    float qf[8];
#pragma unroll
    for (int j = 0; j < 8; j++) qf[j] = qs[sl * 8 + j];
    float m = -CUDART_INF_F, l = 0.f, acc[8];
#pragma unroll
    for (int j = 0; j < 8; j++) acc[j] = 0.f;
    // one token per subgroup: score, then the online-softmax update (all lanes take part in the shuffles)
    auto consume = [&](const float* kf, const float* vf, bool ok) {
        float s = 0.f;
#pragma unroll
        for (int j = 0; j < 8; j++) s = fmaf(qf[j], kf[j], s);
#pragma unroll
        for (int o = LPT / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (!ok) return;
        const float mn = fmaxf(m, s);
        const float corr = exp2f(m - mn);
        const float pr = exp2f(s - mn);
        l = l * corr + pr;
#pragma unroll
        for (int j = 0; j < 8; j++) acc[j] = fmaf(acc[j], corr, pr * vf[j]);
        m = mn;
    };
    for (int tb = t0 + warp * TPW; tb < t1; tb += NP * PASS) {
        if (tb != t0 + warp * TPW) loadBatch(tb);  // later batches (contexts over attnTokens per item)
#pragma unroll
        for (int j = 0; j < NP; j++) {
            float kf[8], vf[8];
            const uint32_t kw[4] = {kb[j].x, kb[j].y, kb[j].z, kb[j].w}, vw[4] = {vb[j].x, vb[j].y, vb[j].z, vb[j].w};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&kw[e]));
                const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&vw[e]));
                kf[2 * e] = a.x;
                kf[2 * e + 1] = a.y;
                vf[2 * e] = b.x;
                vf[2 * e + 1] = b.y;
            }
            consume(kf, vf, okb[j]);
        }
    }
    if (part == parts - 1 && warp == 0) {  // the new token, from shared memory
        float kf[8], vf[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            kf[j] = kn[sl * 8 + j];
            vf[j] = vn[sl * 8 + j];
        }
        consume(kf, vf, sub == 0);
    }
    // merge the warp's token subgroups (lanes sl, sl + LPT, ...) by shuffles: 15 partial results, not 60 or 30
#pragma unroll
    for (int o = LPT; o < 32; o <<= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
        const float l2 = __shfl_xor_sync(0xffffffffu, l, o);
        const float mn = fmaxf(m, m2);
        const float c1 = mn == -CUDART_INF_F ? 0.f : exp2f(m - mn);  // 0 for an empty subgroup (−inf)
        const float c2 = mn == -CUDART_INF_F ? 0.f : exp2f(m2 - mn);
        l = l * c1 + l2 * c2;
#pragma unroll
        for (int j = 0; j < 8; j++) acc[j] = acc[j] * c1 + __shfl_xor_sync(0xffffffffu, acc[j], o) * c2;
        m = mn;
    }
    if (sub == 0) {
        if (sl == 0) {
            slM[warp] = m;
            slL[warp] = l;
        }
#pragma unroll
        for (int j = 0; j < 8; j++) slA[warp * D + sl * 8 + j] = acc[j];
    }
    consumersSync();
    __shared__ int lastItem;
    if (ct < D) {
        float mx = -CUDART_INF_F;
        for (int s = 0; s < NSLOT; s++) mx = fmaxf(mx, slM[s]);
        float sum = 0.f, a = 0.f;
        if (mx != -CUDART_INF_F) {
            for (int s = 0; s < NSLOT; s++) {
                const float c = exp2f(slM[s] - mx);  // 0 for an empty slot (−inf)
                sum = fmaf(slL[s], c, sum);
                a = fmaf(slA[s * D + ct], c, a);
            }
        }
        if (parts == 1) {
            p.attn[h * D + ct] = __float2bfloat16(a / sum);
        } else {
            float* ws = p.attnWs + (static_cast<long long>(h) * p.maxParts + part) * (D + 2);
            ws[2 + ct] = a;
            if (ct == 0) {
                ws[0] = mx;
                ws[1] = sum;
            }
        }
    }
    if (parts == 1) {
        consumersSync();
        return;
    }
    __threadfence();
    consumersSync();
    if (ct == 0) lastItem = atomicAdd(p.attnCounters + h, 1u) == static_cast<unsigned>(parts) - 1;
    consumersSync();
    if (lastItem) {
        __threadfence();
        if (ct < D) {
            const float* ws = p.attnWs + static_cast<long long>(h) * p.maxParts * (D + 2);
            float mx = -CUDART_INF_F;
            for (int q = 0; q < parts; q++) mx = fmaxf(mx, __ldcg(ws + q * (D + 2)));
            float sum = 0.f, a = 0.f;
            for (int q = 0; q < parts; q++) {
                const float mq = __ldcg(ws + q * (D + 2));
                if (mq == -CUDART_INF_F) continue;
                const float c = exp2f(mq - mx);
                sum = fmaf(__ldcg(ws + q * (D + 2) + 1), c, sum);
                a = fmaf(__ldcg(ws + q * (D + 2) + 2 + ct), c, a);
            }
            p.attn[h * D + ct] = __float2bfloat16(a / sum);
        }
        if (ct == 0) p.attnCounters[h] = 0u;
    }
    consumersSync();
}
#endif  // LLMWB_BULK

}  // namespace

extern "C" __global__ void __launch_bounds__(THREADS, 1) decode_persistent_bf16(const uint64_t* __restrict__ addrs, const int* __restrict__ ints) {
#if LLMWB_BULK
    extern __shared__ __align__(128) unsigned char smem[];
    __shared__ Params p;
    __shared__ __align__(8) uint64_t full[MAX_STAGES];
    __shared__ __align__(8) uint64_t empty[MAX_STAGES];
    __shared__ float red[CWARPS];
    __shared__ int produced;  // pieces the producer has issued (the L2 prefetcher paces itself on it)
    __shared__ Step stp;
    const int tid = threadIdx.x;
    if (tid == 0) {
        produced = 0;
        uint64_t* pa = reinterpret_cast<uint64_t*>(&p);  // the 18 addresses, then the 14 four-byte fields
        for (int i = 0; i < 19; i++) pa[i] = addrs[i];
        int* pi = reinterpret_cast<int*>(pa + 19);
        for (int i = 0; i < 16; i++) pi[i] = ints[i];
        stp.past = p.lens[0] - 1;
        stp.pos = p.positions[0];
        stp.slot = p.slots[0];
        stp.parts = attnParts(p, stp.past);
        for (int s = 0; s < p.stages; s++) {
            mbarInit(&full[s], 1);
            mbarInit(&empty[s], 1);  // the consumer warp that took the piece
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();
    unsigned char* ring = smem;
    float* xs = reinterpret_cast<float*>(smem + static_cast<size_t>(p.stages) * STAGE_ELEMS * 2);
    __nv_bfloat16* xb = reinterpret_cast<__nv_bfloat16*>(xs);  // the phase input (attention uses the space as FP32 scratch)
    float* part = xs + p.xsFloats;  // [CWARPS][accRows]
    float* xown = part + CWARPS * p.accRows;  // the CTA's rows of the residual stream (BF16 values)

    if (tid >= CONSUMERS) {  // producer warp: one thread streams the CTA's weight slices through the ring
        if (tid == CONSUMERS + 1 && p.prefetch > 0) {
            // the L2 prefetcher: keeps HBM busy while the ring is full (consumers at a grid barrier or in attention)
            // by pulling the pieces after the ring's into L2, at most p.prefetch pieces ahead of the producer
            int j = 0;
            forPhases(p, [&](int layer, int ph) {
                forPhasePieces(phaseOf(p, layer, ph), [&](const __nv_bfloat16* src, int, int, int kn, int rows) {
                    if (j++ < p.stages) return;  // the producer loads these at once
                    while (j > *reinterpret_cast<volatile int*>(&produced) + p.prefetch) __nanosleep(64);
                    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(src), "r"(static_cast<uint32_t>(kn) * rows * 2) : "memory");
                });
            });
        }
        if (tid == CONSUMERS) {
            uint64_t policy;
            asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
            int issued = 0;  // the ring slot and the parity to wait for follow from it, as on the consumer side
            long long waitEmpty = 0;
            forPhases(p, [&](int layer, int ph) {
                forPhasePieces(phaseOf(p, layer, ph), [&](const __nv_bfloat16* src, int, int, int kn, int rows) {
                    const int st = issued % p.stages;
                    // a fresh barrier counts as having completed the phase before, so the first round's waits pass
                    const uint32_t parity = ((issued / p.stages) & 1) ^ 1;
                    const long long t0 = clock64();
                    mbarWait(&empty[st], parity);
                    waitEmpty += clock64() - t0;
                    const uint32_t bytes = static_cast<uint32_t>(kn) * rows * 2;
                    mbarExpectTx(&full[st], bytes);
                    bulkLoad(ring + static_cast<size_t>(st) * STAGE_ELEMS * 2, src, bytes, &full[st], policy);
                    *reinterpret_cast<volatile int*>(&produced) = ++issued;
                });
            });
            if (p.profile != nullptr) p.profile[blockIdx.x * 8 + PROF_WAIT_EMPTY] = waitEmpty;
        }
        return;
    }

    // consumers
    const int ct = tid;
    const int warp = ct / 32, lane = ct % 32;
    long long prof[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const long long start = clock64();
    auto since = [&](int what, long long t0) {
        if (ct == 0) prof[what] += clock64() - t0;
    };
    for (int i = ct; i < CWARPS * p.accRows; i += CONSUMERS) part[i] = 0.f;
    // embedding: each CTA writes its share of x
    {
        int lo, hi;
        rowsOf(p.H, 0, lo, hi);
        const int tok = __ldcg(p.ids);
        for (int i = lo + ct; i < hi; i += CONSUMERS) {
            const __nv_bfloat16 e = p.embed[static_cast<long long>(tok) * p.H + i];
            p.x[i] = e;
            xown[i - lo] = __bfloat162float(e);
        }
    }
    prefetchHistory(p, stp, 0, ct);
    unsigned long long target = 0;  // consumer thread 0's: where the next barrier completes
    if (ct == 0) {
        const unsigned long long per = static_cast<unsigned long long>(1 + 5 * p.nLayers) * gridDim.x;
        target = atomicAdd(p.barrier, 0ull) / per * per;
    }
    auto sync = [&]() {
        target += gridDim.x;
        const long long t0 = clock64();
        gridSync(p.barrier, target, ct);
        since(PROF_BARRIER, t0);
    };
    sync();
    int piece = 0;  // pieces of the step so far (the ring slot and its parity follow from it)
    forPhases(p, [&](int layer, int ph) {
        if (ph == PH_O) {  // attention between the Q/K/V and the output projections
            long long t0 = clock64();
            const int parts = stp.parts;
            for (int item = blockIdx.x; item < p.HQ * parts; item += gridDim.x) {
                if (p.D == 64) {
                    attentionItem<64>(p, stp, layer, item / parts, item % parts, xs, ct);
                } else {
                    attentionItem<128>(p, stp, layer, item / parts, item % parts, xs, ct);
                }
            }
            since(PROF_ATTENTION, t0);
            sync();
        }
        long long t1 = clock64();
        loadInput(p, layer, ph, xb, red, ct);
        if (ph == PH_DOWN && layer + 1 < p.nLayers) prefetchHistory(p, stp, layer + 1, ct);  // next layer's cached K/V
        since(PROF_INPUT, t1);
        const Phase f = phaseOf(p, layer, ph);
        forPhasePieces(f, [&](const __nv_bfloat16*, int accRow, int k0, int kn, int rows) {
            // piece i of the step goes to warp i % CWARPS: the warps work on different stages at once (a piece is
            // 8 KB: one warp streams it with four 16-byte loads per lane in flight)
            if (piece++ % CWARPS != warp) return;
            const int st = (piece - 1) % p.stages;
            const int round = (piece - 1) / p.stages;
            const long long tw = clock64();
            // A parity wait cannot tell this round's phase from the one two rounds back: if the stage's previous
            // piece (round − 1, another warp's) had not landed yet, waiting for parity `round` would pass at once and
            // read a stage still being written (bulk copies land out of order; with the 128K-token LM head the ring
            // has only 18 stages and this failed the launch, issue 18). So first wait until that piece was consumed
            // (its warp's release of the stage), which implies it landed; the launcher keeps stages > CWARPS, so the
            // release two rounds back has always happened and the empty-barrier parity is unambiguous too.
            if (round > 0) mbarWait(&empty[st], (round - 1) & 1);
            mbarWait(&full[st], round & 1);
            const long long tc = clock64();
            if (warp == 0) prof[PROF_WAIT_FULL] += tc - tw;
            const uint4* w = reinterpret_cast<const uint4*>(ring + static_cast<size_t>(st) * STAGE_ELEMS * 2);
            const uint4* xv = reinterpret_cast<const uint4*>(xb + k0);
            const int cpr = kn / 8;  // 16-byte chunks per row: a multiple of 32
            float* mine = part + warp * p.accRows + accRow;
            for (int r = 0; r < rows; r++) {
                const uint4* wr = w + r * cpr;
                float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
                int c = lane;
                for (; c + 96 < cpr; c += 128) {
                    const uint4 w0 = wr[c], w1 = wr[c + 32], w2 = wr[c + 64], w3 = wr[c + 96];
                    const uint4 x0 = xv[c], x1 = xv[c + 32], x2 = xv[c + 64], x3 = xv[c + 96];
                    a0 += dot8(w0, x0);
                    a1 += dot8(w1, x1);
                    a2 += dot8(w2, x2);
                    a3 += dot8(w3, x3);
                }
                for (; c < cpr; c += 32) a0 += dot8(wr[c], xv[c]);
                const float sum = warpSum((a0 + a1) + (a2 + a3));
                if (lane == 0) mine[r] += sum;
            }
            __syncwarp();
            if (lane == 0) mbarArrive(&empty[st]);
            if (warp == 0) prof[PROF_COMPUTE] += clock64() - tc;
        });
        t1 = clock64();
        finishPhase(p, ph, f, part, xown, ct);
        since(PROF_EPILOGUE, t1);
        if (ph != PH_LM) sync();
    });
    if (p.profile != nullptr && ct == 0) {
        prof[PROF_TOTAL] = clock64() - start;
        for (int i = 0; i < 8; i++) {
            if (i != PROF_WAIT_EMPTY) p.profile[blockIdx.x * 8 + i] = prof[i];
        }
    }
#else
    __trap();  // sm_90 only: the launcher never picks this kernel below compute capability 9.0
#endif
}
