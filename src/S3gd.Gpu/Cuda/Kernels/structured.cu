// structured.cu: optimizer steps whose update needs a reduction first, StableAdamW (the RMS of g/sqrt(v) over a tensor
// clips the learning rate) and Adam-mini (one second moment per block, the block's mean of g^2), over many tensors.
//
// Kernels queued on one stream, no host round trip (StructuredLayout.cs cuts the work; groups of several segments, the
// split groups, come first and take three passes; groups of one segment, the whole groups, take one):
//   structured_reduce    one warp per segment (at most CHUNK elements of one group), WARPS segments per block: the
//                        segment's float32 sum of the term (StableAdamW g^2/max(v_new, eps^2), Adam-mini g^2) into
//                        partials[segment]
//   structured_finalize  one warp per group (a StableAdamW tensor, an Adam-mini block): adds its segments' sums, then
//                        StableAdamW: lr_t = lr/max(1, sqrt(sum/n)) and the decay factor 1 - lr_t*wd;
//                        Adam-mini: vmean <- beta2*vmean + (1-beta2)*sum/L (stored) and the denominator
//                        sqrt(vmean)/sqrt(1-beta2^t) + eps; both into group_out[2*group .. 2*group+1]
//   structured_update    one warp per segment again: the elementwise update reading its group's scalars
//   structured_whole     one warp per whole group: the three in one, the sum kept in the warp (same float32 values)
// A lane of a segment's warp owns LANE_RUNS runs of VEC consecutive elements: run u of lane l starts at element
// (u*WARP + l)*VEC of the segment, so the warp's runs u are WARP*VEC consecutive elements, moved as 16-byte vectors where
// the buffers and the segment are aligned (element by element otherwise, and past the segment's end). Many small groups
// (Adam-mini's rows) then cost a warp each, not a block with its barriers.
// The float32 order of every sum is fixed by the layout alone, never by the vector path: a run's VEC terms are added
// as a halving tree (elements past the segment's end are +0), the lane adds its runs' sums in turn, the warp halves by
// shuffles; the finalize's lane j sums segments j, j+32, ... and the lanes halve by shuffles. So the CPU twin,
// src/S3gd.Gpu/Cpu/CpuStructured.cs, gives the same bits. Compiled with --fmad=false: fmaf is written out.
//
// Defines (StructuredConfig.Defines):
//   RULE            RULE_STABLE_ADAMW | RULE_ADAM_MINI
//   PARAM_T, GRAD_T, V_T        DT_FP32 | DT_BF16 (Adam-mini's vmean, V_T, is fp32)
//   M_T             DT_FP32 | DT_BF16, or for Adam-mini DT_E4M3: fp8 with bf16 fallback (MomentFallback.cs, the spec's
//                   FallbackFp8): per block of SCALE_BLOCK elements of a group a word (its scale, ZEROS_WORD or
//                   SLOT_WORD), per segment one bf16 slot, taken by the segment's first block in element order that the
//                   fp8 scale cannot represent; a later one keeps the plain scaled codes and counts as overflowed
//   WEIGHT_DECAY    1: p <- p*decay (StableAdamW: 1 - lr_t*wd from the finalize; Adam-mini: 1 - lr*wd where the tensor decays)
//   KAHAN           1: bf16 parameter with a bf16 Kahan compensation buffer (optimi's kahan_sum)
//   TELEMETRY       1: per tensor TELEMETRY_WORDS counters: the largest |update| (float bits, atomicMax), the count of
//                   non-finite gradients, the fp8 moment's fallback blocks and overflowed ones
// Launch layout (StructuredLaunch.Defines; results do not depend on it):
//   UNROLL          runs per lane whose loads are all in flight before any maths (1, 2 or 4; default 2)
//   STREAMING       1: vector loads and stores with the .cs (evict-first) cache hint: data touched once per pass

#define RULE_STABLE_ADAMW 1
#define RULE_ADAM_MINI 2

#define THREADS 256                       // threads per block (StructuredLayout.Threads)
#define WARP 32                           // lanes of a warp: one segment each (StructuredLayout.WarpSize)
#define WARPS (THREADS / WARP)            // segments per block of the reduce and the update
#define VEC 8                             // consecutive elements of a lane's run: 16 bytes of bf16 (StructuredLayout.Vec)
#define LANE_RUNS 16                      // runs per lane of a whole segment (StructuredLayout.LaneRuns)
#define CHUNK (WARP * VEC * LANE_RUNS)    // most elements of a segment: 4096 (StructuredLayout.Chunk)
#define FULL_MASK 0xffffffffu             // every lane of a warp
#define ROW 10                            // tensor row words: param, grad, m, v, compensation, length, block length, decays,
                                          // fp8 m's block words, fp8 m's slots
#define HALF 16                           // lanes of half a warp: one fp8 block of a run (SCALE_BLOCK / VEC)
#define SCALE_BLOCK 128                   // elements per fp8 block (MomentFallback.BlockSize)
#define E4M3_SATURATION 464.0f            // E4M3_MAX plus half its ulp: a larger |x/scale| saturates (FallbackFp8.saturation)
#define ZEROS_WORD 0.0f                   // block word of a block of zeros (MomentFallback.ZerosWord)
#define SLOT_WORD (-1.0f)                 // block word of a block kept in its segment's bf16 slot (MomentFallback.SlotWord)
#define TELEMETRY_WORDS 4                 // counters per tensor (StructuredTelemetry.Words)
#define SEG_WORDS 4                       // segment words: tensor, group, start, count
#define GROUP_WORDS 4                     // group words: tensor, local index, first segment, segments
#define BATCH 32                          // partial sums per lane whose loads the finalize issues together
#define FLOAT_MAX 3.40282347e38f          // the largest finite float32: |g| above it (or NaN) is not finite

#include "common.cuh"                     // DT_* formats, conversions, vector loads and stores, Io<DT>, kahan_update

// Per-step scalars, computed on the host in float64 and rounded once to float32 (StructuredScalars.cs).
struct StructuredScalars
{
    float lr;               // learning rate (StableAdamW: the maximum, clipped by the RMS)
    float beta1;            // first moment's decay (StableAdamW: debiased for this step)
    float one_minus_beta1;  // 1 - beta1
    float beta2;            // second moment's decay (StableAdamW: debiased for this step)
    float one_minus_beta2;  // 1 - beta2
    float eps;              // added to the denominator
    float eps2;             // StableAdamW: eps^2, the floor of v in the RMS
    float wd;               // StableAdamW: the weight of lr_t in the decay (wd, or wd/max_lr with decouple_lr)
    float decay;            // Adam-mini: 1 - lr*wd
    float step_size;        // Adam-mini: lr / (1 - beta1^t)
    float inv_sqrt_bc2;     // Adam-mini: 1 / sqrt(1 - beta2^t)
};

#ifndef UNROLL
#define UNROLL 2
#endif


#ifndef KAHAN
#define KAHAN 0
#endif
#ifndef TELEMETRY
#define TELEMETRY 0
#endif

// The summed term of one element: StableAdamW g^2/max(v_new, eps^2) with v_new as the update computes it; Adam-mini g^2.
__device__ __forceinline__ float term(const StructuredScalars& sc, float g, float v)
{
#if RULE == RULE_STABLE_ADAMW
    const float gg = g * g;
    const float vn = fmaf(sc.beta2, v, sc.one_minus_beta2 * gg);
    return gg / fmaxf(vn, sc.eps2);
#elif RULE == RULE_ADAM_MINI
    (void)sc;
    (void)v;
    return g * g;
#else
  #error "RULE must be RULE_STABLE_ADAMW or RULE_ADAM_MINI"
#endif
}

// The first element of run u of a lane (relative to the segment's start).
__device__ __forceinline__ long long run_at(int u, int lane) { return ((long long)u * WARP + lane) * VEC; }

// One warp's sum of its segment's terms, in lane 0 (the other lanes hold partial sums): per lane each run's terms as
// a halving tree, added in run order, then the lanes halve by shuffles. `evict_first`: the loads' streaming hint.
__device__ __forceinline__ float reduce_segment(
    const StructuredScalars& sc, const unsigned long long* row, long long start, int count, int lane, bool evict_first)
{
    const long long end = start + count;
    const void* const G = (const void*)row[1];
#if RULE == RULE_STABLE_ADAMW
    const void* const V = (const void*)row[3];
    const bool aligned = ((row[1] | row[3]) & 15ull) == 0ull && start % VEC == 0;
#else
    const bool aligned = (row[1] & 15ull) == 0ull && start % VEC == 0;
#endif
    float acc = 0.0f;
    // UNROLL runs a turn (the loop bound is the same for the whole warp); the sums keep the layout's order.
    for (int u0 = 0; run_at(u0, 0) < count; u0 += UNROLL)
    {
        float g[UNROLL][VEC], v[UNROLL][VEC];
        long long at[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            at[u] = start + run_at(u0 + u, lane);
            const bool full = aligned && at[u] + VEC <= end;
            Io<GRAD_T>::load(G, at[u], end, full, g[u], evict_first);
#if RULE == RULE_STABLE_ADAMW
            Io<V_T>::load(V, at[u], end, full, v[u], evict_first);
#else
#pragma unroll
            for (int e = 0; e < VEC; e++) v[u][e] = 0.0f;
#endif
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            float x[VEC];
#pragma unroll
            for (int e = 0; e < VEC; e++) x[e] = at[u] + e < end ? term(sc, g[u][e], v[u][e]) : 0.0f;
#pragma unroll
            for (int half = VEC / 2; half > 0; half /= 2)
#pragma unroll
                for (int e = 0; e < half; e++) x[e] = x[e] + x[e + half];
            if (at[u] < end) acc = acc + x[0];
        }
    }
    for (int offset = WARP / 2; offset > 0; offset /= 2) acc = acc + __shfl_down_sync(FULL_MASK, acc, offset);
    return acc;
}

// A group's two scalars from the float32 sum of its terms (lane 0 of its finalize warp): StableAdamW the clipped lr and
// the decay factor; Adam-mini the denominator (and 0), storing the new vmean[local].
__device__ __forceinline__ void group_scalars(
    const StructuredScalars& sc, const unsigned long long* row, long long local, float sum, float& first, float& second)
{
#if RULE == RULE_STABLE_ADAMW
    (void)local;
    const float rms = sqrtf(sum / (float)(long long)row[5]);
    const float lr_t = sc.lr / fmaxf(1.0f, rms);
    first = lr_t;
    second = fmaf(-lr_t, sc.wd, 1.0f);
#else
    float* const vmean = (float*)row[3];
    const float mean = sum / (float)(long long)row[6];
    const float vm = fmaf(sc.beta2, vmean[local], sc.one_minus_beta2 * mean);
    vmean[local] = vm;
    first = fmaf(sqrtf(vm), sc.inv_sqrt_bc2, sc.eps);
    second = 0.0f;
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS) structured_reduce(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ segments,          // per segment: SEG_WORDS words
    const int segment_count,
    const StructuredScalars sc,
    float* __restrict__ partials)                    // per segment: its sum
{
    const int segment = blockIdx.x * WARPS + threadIdx.x / WARP;
    const int lane = threadIdx.x % WARP;
    if (segment >= segment_count) return;  // whole warps leave together: the shuffles stay within full warps
    const long long* s = segments + (long long)segment * SEG_WORDS;
    const float sum = reduce_segment(sc, tensors + s[0] * ROW, s[2], (int)s[3], lane, true);
    if (lane == 0) partials[segment] = sum;
}

extern "C" __global__ void __launch_bounds__(THREADS) structured_finalize(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ groups,            // per group: GROUP_WORDS words
    const int group_count,
    const float* __restrict__ partials,              // per segment: its sum
    const StructuredScalars sc,
    float* __restrict__ group_out)                   // per group: two scalars for the update
{
    const int group = blockIdx.x * (THREADS / WARP) + threadIdx.x / WARP;
    const int lane = threadIdx.x % WARP;
    if (group >= group_count) return;  // whole warps leave together: the shuffles below stay within full warps
    const long long* q = groups + (long long)group * GROUP_WORDS;
    const unsigned long long* row = tensors + q[0] * ROW;
    const long long first = q[2];
    const int count = (int)q[3];
    float acc = 0.0f;
    // The lane's segments in order; loads BATCH at a time (the last batch too, its loads past the group's end skipped),
    // so a group of thousands of segments (a whole 64M tensor: 16384) is 16 L2 round trips, not one per segment. The
    // additions keep their order.
    for (int j = lane; j < count; j += BATCH * WARP)
    {
        float x[BATCH];
#pragma unroll
        for (int u = 0; u < BATCH; u++) x[u] = j + u * WARP < count ? partials[first + j + u * WARP] : 0.0f;
#pragma unroll
        for (int u = 0; u < BATCH; u++)
            if (j + u * WARP < count) acc = acc + x[u];
    }
    for (int offset = WARP / 2; offset > 0; offset /= 2) acc = acc + __shfl_down_sync(FULL_MASK, acc, offset);
    if (lane == 0) group_scalars(sc, row, q[1], acc, group_out[2 * group], group_out[2 * group + 1]);
}

#if M_T == DT_E4M3
// An fp8 first moment's segment: its first block word, its slot (read whole when the segment starts, before any block
// may take it: lane l holds elements (l % HALF)*VEC.. of it), whether a block took the slot this step, and the counts.
struct MomentFp8
{
    float* words;
    unsigned short* slot;
    float old[VEC];
    bool taken;
    unsigned int fallbacks, overflows;
};

__device__ __forceinline__ MomentFp8 moment_fp8(const unsigned long long* row, long long start, int lane)
{
    MomentFp8 f;
    const long long group_length = (long long)row[6];
    const long long group = start / group_length, in_group = start - group * group_length;
    // Block words: ceil(L/SCALE_BLOCK) per group; slots: ceil(L/CHUNK) per group (MomentFallback.ScaleCount, PoolCount).
    f.words = (float*)row[8] + group * ((group_length + SCALE_BLOCK - 1) / SCALE_BLOCK) + in_group / SCALE_BLOCK;
    f.slot = (unsigned short*)row[9] + (group * ((group_length + CHUNK - 1) / CHUNK) + in_group / CHUNK) * SCALE_BLOCK;
    Io<DT_BF16>::load(f.slot, (lane % HALF) * VEC, SCALE_BLOCK, true, f.old, false);
    f.taken = false;
    f.fallbacks = f.overflows = 0u;
    return f;
}

// A lane's run (first element `at`, `rel` into the segment) of the fp8 moment, decoded by its block's word; elements
// past the end are 0. The moment's codes move without the streaming hint (load_codes, store_codes: evict_first false).
__device__ __forceinline__ void load_moment(const MomentFp8& f, const void* M, long long at, long long rel, long long end, bool full, float (&m)[VEC])
{
    unsigned int w[2];
    load_codes(M, at, end, full, w, false);
    const float word = at < end ? f.words[rel / SCALE_BLOCK] : ZEROS_WORD;
    codes_to_floats<DT_E4M3>(w, m);
#pragma unroll
    for (int e = 0; e < VEC; e++)
        m[e] = at + e >= end ? 0.0f : word == SLOT_WORD ? f.old[e] : word == ZEROS_WORD ? 0.0f : m[e] * word;
}

// Stores a lane's run of the new fp8 moment: each half warp holds one block (FallbackFp8.encode): its amax, scale and
// codes; zeros (every element ±0), or kept in bf16 when the scale cannot represent it (non-finite amax, a saturating
// quotient, an element flushed to ±0), in the segment's slot if no earlier block took it, else the plain codes
// (overflowed). Every lane of the warp calls it: the reductions and votes span the warp.
__device__ __forceinline__ void store_moment(
    MomentFp8& f, void* M, long long at, long long rel, long long start, long long end, bool full, int lane, const float (&m)[VEC])
{
    // The half's amax: |m| as float bits (NaN left out, as fmaxf leaves it out) order as unsigned integers, so one
    // warp reduction per half gives it.
    unsigned int bits = 0u;
#pragma unroll
    for (int e = 0; e < VEC; e++)
    {
        const unsigned int b = m[e] == m[e] ? __float_as_uint(fabsf(m[e])) : 0u;
        bits = b > bits ? b : bits;
    }
    const bool low_half = lane < HALF;
    const unsigned int low = __reduce_max_sync(FULL_MASK, low_half ? bits : 0u);
    const unsigned int high = __reduce_max_sync(FULL_MASK, low_half ? 0u : bits);
    const float a = __uint_as_float(low_half ? low : high);
    const float scale = a / E4M3_MAX;
    float q[VEC];
#pragma unroll
    for (int e = 0; e < VEC; e++) q[e] = m[e] / scale;
    unsigned int w[2];
    floats_to_codes<DT_E4M3>(q, w);
    bool nonzero = false, flushed = false;
#pragma unroll
    for (int e = 0; e < VEC; e++)
    {
        const unsigned int code = (w[e / 4] >> (8 * (e % 4))) & 0xffu;
        nonzero = nonzero || m[e] != 0.0f;  // NaN too
        flushed = flushed || (m[e] != 0.0f && m[e] == m[e] && (code & 0x7fu) == 0u);
    }
    // Votes of the warp's lanes, read for this lane's half.
    const unsigned int half_lanes = low_half ? 0x0000ffffu : 0xffff0000u;
    const bool zeros = (__ballot_sync(FULL_MASK, nonzero) & half_lanes) == 0u;
    const bool any_flushed = (__ballot_sync(FULL_MASK, flushed) & half_lanes) != 0u;
    const bool wide = !zeros && (!(a <= FLOAT_MAX) || !(a / scale < E4M3_SATURATION) || any_flushed);
    // The half's block exists when its first element is in the segment; the low half's block comes first.
    const bool valid = start + rel / SCALE_BLOCK * SCALE_BLOCK < end;
    const unsigned int needs = __ballot_sync(FULL_MASK, wide && valid);
    const bool take_low = (needs & 1u) != 0u && !f.taken;
    const bool take_high = (needs >> HALF & 1u) != 0u && !f.taken && !take_low;
    f.taken = f.taken || take_low || take_high;
    const bool mine = low_half ? take_low : take_high;
    float word = scale;
    if (zeros || (wide && mine))
    {
        w[0] = w[1] = 0u;
        word = zeros ? ZEROS_WORD : SLOT_WORD;
    }
    // The whole slot is written, elements past a short block as bf16 +0 (their m is 0).
    if (wide && mine) Io<DT_BF16>::store(f.slot, (lane % HALF) * VEC, SCALE_BLOCK, true, m);
    store_codes(M, at, end, full, w, false);
    if (valid && lane % HALF == 0)
    {
        f.words[rel / SCALE_BLOCK] = word;
        if (zeros || wide) f.fallbacks++;
        if (wide && !mine) f.overflows++;
    }
}
#endif

// One warp's update of its segment, with its group's two scalars (StableAdamW: lr_t, decay; Adam-mini: denominator).
__device__ __forceinline__ void update_segment(
    const StructuredScalars& sc, const unsigned long long* row, long long t, long long start, int count, int lane,
    float first, float second, unsigned int* telemetry)
{
    const long long end = start + count;
    void* const P = (void*)row[0];
    const void* const G = (const void*)row[1];
    void* const M = (void*)row[2];
    // Vector moves need 16-byte aligned bases and a segment starting on a whole run; every run offset keeps it.
    unsigned long long bases = row[0] | row[1] | row[2];
#if RULE == RULE_STABLE_ADAMW
    void* const V = (void*)row[3];
    bases |= row[3];
    const float lr_t = first;
    const float decay = second;
#else
    const float denom = first;
    (void)second;
    const bool decays = row[7] != 0ull;
#endif
#if KAHAN
    void* const C = (void*)row[4];
    bases |= row[4];
#endif
    const bool aligned = (bases & 15ull) == 0ull && start % VEC == 0;
#if M_T == DT_E4M3
    MomentFp8 fp8 = moment_fp8(row, start, lane);
#endif
#if TELEMETRY
    float largest = 0.0f;
    unsigned int nonfinite = 0u;
#else
    (void)telemetry;
    (void)t;
#endif
    // UNROLL runs a turn: their loads are all in flight before any maths.
    for (int u0 = 0; run_at(u0, 0) < count; u0 += UNROLL)
    {
        float p[UNROLL][VEC], g[UNROLL][VEC], m[UNROLL][VEC], v[UNROLL][VEC], c[UNROLL][VEC];
        long long at[UNROLL];
        bool full[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            at[u] = start + run_at(u0 + u, lane);
            full[u] = aligned && at[u] + VEC <= end;
            Io<PARAM_T>::load(P, at[u], end, full[u], p[u]);
            Io<GRAD_T>::load(G, at[u], end, full[u], g[u]);
#if M_T == DT_E4M3
            load_moment(fp8, M, at[u], run_at(u0 + u, lane), end, full[u], m[u]);
#else
            Io<M_T>::load(M, at[u], end, full[u], m[u]);
#endif
#if RULE == RULE_STABLE_ADAMW
            Io<V_T>::load(V, at[u], end, full[u], v[u]);
#endif
#if KAHAN
            Io<DT_BF16>::load(C, at[u], end, full[u], c[u]);
#endif
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
#if M_T != DT_E4M3
            if (at[u] >= end) continue;
#endif
#pragma unroll
            for (int e = 0; e < VEC; e++)
            {
                const float old = p[u][e];
#if RULE == RULE_STABLE_ADAMW
  #if WEIGHT_DECAY
                p[u][e] = p[u][e] * decay;
  #else
                (void)decay;
  #endif
                m[u][e] = fmaf(sc.beta1, m[u][e], sc.one_minus_beta1 * g[u][e]);
                v[u][e] = fmaf(sc.beta2, v[u][e], sc.one_minus_beta2 * (g[u][e] * g[u][e]));
                p[u][e] = fmaf(-lr_t, m[u][e] / (sqrtf(v[u][e]) + sc.eps), p[u][e]);
#else
  #if WEIGHT_DECAY
                if (decays) p[u][e] = p[u][e] * sc.decay;
  #else
                (void)decays;
  #endif
                m[u][e] = fmaf(sc.beta1, m[u][e], sc.one_minus_beta1 * g[u][e]);
                p[u][e] = fmaf(-sc.step_size, m[u][e] / denom, p[u][e]);
#endif
#if TELEMETRY
                // Elements past the end read as 0 and are not stored: they are left out here.
                if (at[u] + e < end)
                {
                    largest = fmaxf(largest, fabsf(p[u][e] - old));
                    if (!(fabsf(g[u][e]) <= FLOAT_MAX)) nonfinite++;
                }
#endif
#if KAHAN
                const float updated = p[u][e];
                p[u][e] = old;
                kahan_update(p[u][e], c[u][e], updated - old);
#endif
                (void)old;
            }
            Io<PARAM_T>::store(P, at[u], end, full[u], p[u]);
#if M_T == DT_E4M3
            // Lanes past the end come too (their stores are skipped): the block's reductions and votes need the whole warp.
            store_moment(fp8, M, at[u], run_at(u0 + u, lane), start, end, full[u], lane, m[u]);
#else
            Io<M_T>::store(M, at[u], end, full[u], m[u]);
#endif
#if RULE == RULE_STABLE_ADAMW
            Io<V_T>::store(V, at[u], end, full[u], v[u]);
#endif
#if KAHAN
            Io<DT_BF16>::store(C, at[u], end, full[u], c[u]);
#endif
        }
        (void)v;
        (void)c;
    }
#if TELEMETRY
    if (largest > 0.0f) atomicMax(&telemetry[TELEMETRY_WORDS * t], __float_as_uint(largest));
    if (nonfinite != 0u) atomicAdd(&telemetry[TELEMETRY_WORDS * t + 1], nonfinite);
  #if M_T == DT_E4M3
    if (fp8.fallbacks != 0u) atomicAdd(&telemetry[TELEMETRY_WORDS * t + 2], fp8.fallbacks);
    if (fp8.overflows != 0u) atomicAdd(&telemetry[TELEMETRY_WORDS * t + 3], fp8.overflows);
  #endif
#endif
}

extern "C" __global__ void __launch_bounds__(THREADS) structured_update(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ segments,          // per segment: SEG_WORDS words
    const int segment_count,
    const float* __restrict__ group_out,             // per group: the finalize's two scalars
    const StructuredScalars sc,
    unsigned int* __restrict__ telemetry)            // with TELEMETRY, per tensor: TELEMETRY_WORDS counters
{
    const int segment = blockIdx.x * WARPS + threadIdx.x / WARP;
    const int lane = threadIdx.x % WARP;
    if (segment >= segment_count) return;
    const long long* s = segments + (long long)segment * SEG_WORDS;
    const long long group = s[1];
    update_segment(sc, tensors + s[0] * ROW, s[0], s[2], (int)s[3], lane, group_out[2 * group], group_out[2 * group + 1], telemetry);
}

// A group of one segment in one warp, no partial sums and no second launch: its sum as structured_reduce's, its scalars as
// structured_finalize's (whose lane 0 adds the one partial sum to 0.0f, and the other lanes' zeros to that: the same
// float32 value, written out here as 0.0f + sum), then structured_update's update; the gradient (and StableAdamW's v) are
// read twice, the second time from cache (the first pass leaves them unhinted).
extern "C" __global__ void __launch_bounds__(THREADS) structured_whole(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ segments,          // per segment: SEG_WORDS words (each a whole group)
    const int segment_count,
    const StructuredScalars sc,
    unsigned int* __restrict__ telemetry)            // with TELEMETRY, per tensor: TELEMETRY_WORDS counters
{
    const int segment = blockIdx.x * WARPS + threadIdx.x / WARP;
    const int lane = threadIdx.x % WARP;
    if (segment >= segment_count) return;  // whole warps leave together: the shuffles stay within full warps
    const long long* s = segments + (long long)segment * SEG_WORDS;
    const unsigned long long* row = tensors + s[0] * ROW;
    const long long start = s[2];
    const int count = (int)s[3];
    const float sum = 0.0f + reduce_segment(sc, row, start, count, lane, false);
    float first = 0.0f, second = 0.0f;
    // The group's index in its tensor (Adam-mini's vmean element): its start over the block length.
    if (lane == 0) group_scalars(sc, row, start / (long long)row[6], sum, first, second);
    first = __shfl_sync(FULL_MASK, first, 0);
    second = __shfl_sync(FULL_MASK, second, 0);
    update_segment(sc, row, s[0], start, count, lane, first, second, telemetry);
}
