// KV-cache movement. Rows are one token's K (or V) for all KV heads: kvHeads × headDim elements, any
// element type (bf16, fp16, fp8): kernels copy bytes in 16-byte vectors, so a row must be a multiple of
// 16 bytes (the Java launchers check this before any launch).
// Built by kernels/pom.xml (see ceilings.cu for the flags).
//
//   kv_append_contiguous  new tokens' K and V into a contiguous cache [seqs, maxLen, kvHeads, headDim]
//                         at (seq, position): the max-length reservation engines used before paging.
//   kv_write_paged        new tokens' K and V into a paged cache [blocks, blockSize, kvHeads, headDim]
//                         through a slot mapping (slot = block × blockSize + offset; −1 = padding, skipped).
//   kv_copy_blocks        whole blocks src → dst (copy-on-write of a shared prefix block).
//   kv_gather_blocks      listed blocks → a contiguous staging buffer (to send a request's KV elsewhere).
//   kv_scatter_blocks     a staging buffer → listed blocks (to receive it).
// One CTA per token (or block); threads stride over the row's 16-byte vectors so each warp reads and writes
// 512 contiguous bytes.
#include <stdint.h>

extern "C" __global__ void kv_append_contiguous(const uint4* __restrict__ kNew, const uint4* __restrict__ vNew,
        uint4* __restrict__ kCache, uint4* __restrict__ vCache, const int* __restrict__ seqIdx, const int* __restrict__ pos,
        int maxLen, int rowVec) {
    int t = blockIdx.x;
    long long dst = ((long long)seqIdx[t] * maxLen + pos[t]) * rowVec;
    long long src = (long long)t * rowVec;
    for (int i = threadIdx.x; i < rowVec; i += blockDim.x) {
        kCache[dst + i] = kNew[src + i];
        vCache[dst + i] = vNew[src + i];
    }
}

extern "C" __global__ void kv_write_paged(const uint4* __restrict__ kNew, const uint4* __restrict__ vNew,
        uint4* __restrict__ kCache, uint4* __restrict__ vCache, const int* __restrict__ slotMapping, int rowVec) {
    int t = blockIdx.x;
    int slot = slotMapping[t];
    if (slot < 0) {
        return;
    }
    long long dst = (long long)slot * rowVec;
    long long src = (long long)t * rowVec;
    for (int i = threadIdx.x; i < rowVec; i += blockDim.x) {
        kCache[dst + i] = kNew[src + i];
        vCache[dst + i] = vNew[src + i];
    }
}

extern "C" __global__ void kv_copy_blocks(uint4* __restrict__ kCache, uint4* __restrict__ vCache, const int* __restrict__ pairs,
        long long blockVec) {
    long long src = (long long)pairs[2 * blockIdx.x] * blockVec;
    long long dst = (long long)pairs[2 * blockIdx.x + 1] * blockVec;
    for (long long i = threadIdx.x; i < blockVec; i += blockDim.x) {
        kCache[dst + i] = kCache[src + i];
        vCache[dst + i] = vCache[src + i];
    }
}

extern "C" __global__ void kv_gather_blocks(const uint4* __restrict__ cache, uint4* __restrict__ staging, const int* __restrict__ blockIds,
        long long blockVec) {
    long long src = (long long)blockIds[blockIdx.x] * blockVec;
    long long dst = (long long)blockIdx.x * blockVec;
    for (long long i = threadIdx.x; i < blockVec; i += blockDim.x) {
        staging[dst + i] = cache[src + i];
    }
}

extern "C" __global__ void kv_scatter_blocks(const uint4* __restrict__ staging, uint4* __restrict__ cache, const int* __restrict__ blockIds,
        long long blockVec) {
    long long src = (long long)blockIdx.x * blockVec;
    long long dst = (long long)blockIds[blockIdx.x] * blockVec;
    for (long long i = threadIdx.x; i < blockVec; i += blockDim.x) {
        cache[dst + i] = staging[src + i];
    }
}

// Every layer's K and V in one launch (a disaggregated request's whole cache): caches[c] is the address of cache c
// (K of layer 0, V of layer 0, K of layer 1, ...); grid (blocks, caches). Staging holds cache c's blocks at
// [c * nBlocks, (c + 1) * nBlocks) in order — the layout the per-cache kernels above produce one call at a time.
// One launch instead of 2 × layers: at 32 KiB per block, launch overhead was a third of the gather's time.
extern "C" __global__ void kv_gather_layers(const unsigned long long* __restrict__ caches, uint4* __restrict__ staging, const int* __restrict__ blockIds,
        int nBlocks, long long blockVec) {
    const uint4* cache = reinterpret_cast<const uint4*>(caches[blockIdx.y]);
    long long src = (long long)blockIds[blockIdx.x] * blockVec;
    long long dst = ((long long)blockIdx.y * nBlocks + blockIdx.x) * blockVec;
    for (long long i = threadIdx.x; i < blockVec; i += blockDim.x) {
        staging[dst + i] = cache[src + i];
    }
}

// The inverse; staging may live on another GPU (peer access): the decode GPU pulls a prefill GPU's staging over
// NVLink straight into its pool.
extern "C" __global__ void kv_scatter_layers(const uint4* __restrict__ staging, const unsigned long long* __restrict__ caches, const int* __restrict__ blockIds,
        int nBlocks, long long blockVec) {
    uint4* cache = reinterpret_cast<uint4*>(caches[blockIdx.y]);
    long long src = ((long long)blockIdx.y * nBlocks + blockIdx.x) * blockVec;
    long long dst = (long long)blockIds[blockIdx.x] * blockVec;
    for (long long i = threadIdx.x; i < blockVec; i += blockDim.x) {
        cache[dst + i] = staging[src + i];
    }
}
