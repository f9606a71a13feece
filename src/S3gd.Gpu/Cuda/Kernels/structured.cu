// structured.cu: optimizer steps whose update needs a reduction first, StableAdamW (the RMS of g/sqrt(v) over a tensor
// clips the learning rate) and Adam-mini (one second moment per block, the block's mean of g^2), over many tensors.
//
// Three kernels queued on one stream, no host round trip (StructuredLayout.cs cuts the work):
//   structured_reduce    one block per segment (at most CHUNK elements of one group): the segment's float32 sum of the
//                        term (StableAdamW g^2/max(v_new, eps^2), Adam-mini g^2) into partials[segment]
//   structured_finalize  one warp per group (a StableAdamW tensor, an Adam-mini block): adds its segments' sums, then
//                        StableAdamW: lr_t = lr/max(1, sqrt(sum/n)) and the decay factor 1 - lr_t*wd;
//                        Adam-mini: vmean <- beta2*vmean + (1-beta2)*sum/L (stored) and the denominator
//                        sqrt(vmean)/sqrt(1-beta2^t) + eps; both into group_out[2*group .. 2*group+1]
//   structured_update    one block per segment again: the elementwise update reading its group's scalars
// The float32 order of every sum is fixed by the layout alone (thread k sums elements k, k+THREADS, ... of its segment;
// the block halves a shared tree; the warp's lane j sums segments j, j+32, ... and the lanes halve by shuffles), so the
// CPU twin, src/S3gd.Gpu/Cpu/CpuStructured.cs, gives the same bits. Compiled with --fmad=false: fmaf is written out.
//
// Defines (StructuredConfig.Defines):
//   RULE            RULE_STABLE_ADAMW | RULE_ADAM_MINI
//   PARAM_T, GRAD_T, M_T, V_T   DT_FP32 | DT_BF16 (Adam-mini's vmean, V_T, is fp32)
//   WEIGHT_DECAY    1: p <- p*decay (StableAdamW: 1 - lr_t*wd from the finalize; Adam-mini: 1 - lr*wd where the tensor decays)
//   KAHAN           1: bf16 parameter with a bf16 Kahan compensation buffer (optimi's kahan_sum)
//   TELEMETRY       1: per tensor, the largest |update| (float bits, atomicMax) and the count of non-finite gradients

#define RULE_STABLE_ADAMW 1
#define RULE_ADAM_MINI 2

#define DT_FP32 0
#define DT_BF16 1

#define THREADS 256                       // threads per block (StructuredLayout.Threads)
#define PER_THREAD 16                     // elements per thread of a segment (StructuredLayout.PerThread)
#define WARP 32                           // lanes of a warp
#define FULL_MASK 0xffffffffu             // every lane of a warp
#define ROW 8                             // tensor row words: param, grad, m, v, compensation, length, block length, decays
#define SEG_WORDS 4                       // segment words: tensor, group, start, count
#define GROUP_WORDS 4                     // group words: tensor, local index, first segment, segments
#define UNROLL 4                          // elements per thread whose loads the update issues together
#define BATCH 16                          // partial sums per lane whose loads the finalize issues together
#define FLOAT_MAX 3.40282347e38f          // the largest finite float32: |g| above it (or NaN) is not finite

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

__device__ __forceinline__ float bf16_to_float(unsigned short h) { return __uint_as_float(((unsigned int)h) << 16); }

__device__ __forceinline__ unsigned short float_to_bf16(float x)
{
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}

// One element in a storage format.
template <int DT> struct Io;
template <> struct Io<DT_FP32>
{
    static __device__ __forceinline__ float load(const void* base, long long i) { return ((const float*)base)[i]; }
    static __device__ __forceinline__ void store(void* base, long long i, float x) { ((float*)base)[i] = x; }
};
template <> struct Io<DT_BF16>
{
    static __device__ __forceinline__ float load(const void* base, long long i) { return bf16_to_float(((const unsigned short*)base)[i]); }
    static __device__ __forceinline__ void store(void* base, long long i, float x) { ((unsigned short*)base)[i] = float_to_bf16(x); }
};

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

extern "C" __global__ void __launch_bounds__(THREADS) structured_reduce(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ segments,          // per segment: SEG_WORDS words
    const StructuredScalars sc,
    float* __restrict__ partials)                    // per segment: its sum
{
    __shared__ float tree[THREADS];
    const long long* s = segments + (long long)blockIdx.x * SEG_WORDS;
    const unsigned long long* row = tensors + s[0] * ROW;
    const long long start = s[2];
    const int count = (int)s[3];
    const void* const G = (const void*)row[1];
#if RULE == RULE_STABLE_ADAMW
    const void* const V = (const void*)row[3];
#endif
    float g[PER_THREAD], v[PER_THREAD];
#pragma unroll
    for (int k = 0; k < PER_THREAD; k++)
    {
        const int j = k * THREADS + threadIdx.x;
        g[k] = j < count ? Io<GRAD_T>::load(G, start + j) : 0.0f;
#if RULE == RULE_STABLE_ADAMW
        v[k] = j < count ? Io<V_T>::load(V, start + j) : 0.0f;
#else
        v[k] = 0.0f;
#endif
    }
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < PER_THREAD; k++)
        if (k * THREADS + (int)threadIdx.x < count) acc = acc + term(sc, g[k], v[k]);
    tree[threadIdx.x] = acc;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2)
    {
        if ((int)threadIdx.x < half) tree[threadIdx.x] = tree[threadIdx.x] + tree[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = tree[0];
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
    // The lane's segments in order; loads BATCH at a time, so a group of thousands of segments (a whole 64M tensor:
    // 16384) is not one L2 round trip per segment. The additions keep their order.
    int j = lane;
    for (; j + (BATCH - 1) * WARP < count; j += BATCH * WARP)
    {
        float x[BATCH];
#pragma unroll
        for (int u = 0; u < BATCH; u++) x[u] = partials[first + j + u * WARP];
#pragma unroll
        for (int u = 0; u < BATCH; u++) acc = acc + x[u];
    }
    for (; j < count; j += WARP) acc = acc + partials[first + j];
    for (int offset = WARP / 2; offset > 0; offset /= 2) acc = acc + __shfl_down_sync(FULL_MASK, acc, offset);
    if (lane != 0) return;
#if RULE == RULE_STABLE_ADAMW
    const float rms = sqrtf(acc / (float)(long long)row[5]);
    const float lr_t = sc.lr / fmaxf(1.0f, rms);
    group_out[2 * group] = lr_t;
    group_out[2 * group + 1] = fmaf(-lr_t, sc.wd, 1.0f);
#else
    float* const vmean = (float*)row[3];
    const float mean = acc / (float)(long long)row[6];
    const float vm = fmaf(sc.beta2, vmean[q[1]], sc.one_minus_beta2 * mean);
    vmean[q[1]] = vm;
    group_out[2 * group] = fmaf(sqrtf(vm), sc.inv_sqrt_bc2, sc.eps);
    group_out[2 * group + 1] = 0.0f;
#endif
}

// Kahan-compensated bf16 update (optimi), as elementwise.cu's: c <- c + delta; prev = p; p <- bf16(p + c);
// c <- c + (prev - p), rounded to bf16 when stored. delta is the whole float32 update of p, weight decay included.
__device__ __forceinline__ void kahan_update(float& p, float& c, float delta)
{
    c = c + delta;
    const float prev = p;
    p = bf16_to_float(float_to_bf16(p + c));
    c = c + (prev - p);
}

extern "C" __global__ void __launch_bounds__(THREADS) structured_update(
    const unsigned long long* __restrict__ tensors,  // per tensor: ROW words
    const long long* __restrict__ segments,          // per segment: SEG_WORDS words
    const float* __restrict__ group_out,             // per group: the finalize's two scalars
    const StructuredScalars sc,
    unsigned int* __restrict__ telemetry)            // with TELEMETRY, per tensor: max |update| bits, non-finite count
{
    const long long* s = segments + (long long)blockIdx.x * SEG_WORDS;
    const long long t = s[0];
    const unsigned long long* row = tensors + t * ROW;
    const long long group = s[1];
    const long long start = s[2];
    const int count = (int)s[3];
    void* const P = (void*)row[0];
    const void* const G = (const void*)row[1];
    void* const M = (void*)row[2];
#if RULE == RULE_STABLE_ADAMW
    void* const V = (void*)row[3];
    const float lr_t = group_out[2 * group];
    const float decay = group_out[2 * group + 1];
#else
    const float denom = group_out[2 * group];
    const bool decays = row[7] != 0ull;
#endif
#if KAHAN
    void* const C = (void*)row[4];
#endif
#if TELEMETRY
    float largest = 0.0f;
    unsigned int nonfinite = 0u;
#else
    (void)telemetry;
#endif
    // Groups of UNROLL elements per thread: their loads are all in flight before any maths.
    for (int k0 = 0; k0 < PER_THREAD; k0 += UNROLL)
    {
        float p[UNROLL], g[UNROLL], m[UNROLL], v[UNROLL], c[UNROLL];
        long long at[UNROLL];
        bool in[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            const int j = (k0 + u) * THREADS + threadIdx.x;
            in[u] = j < count;
            at[u] = start + j;
            p[u] = in[u] ? Io<PARAM_T>::load(P, at[u]) : 0.0f;
            g[u] = in[u] ? Io<GRAD_T>::load(G, at[u]) : 0.0f;
            m[u] = in[u] ? Io<M_T>::load(M, at[u]) : 0.0f;
#if RULE == RULE_STABLE_ADAMW
            v[u] = in[u] ? Io<V_T>::load(V, at[u]) : 0.0f;
#else
            v[u] = 0.0f;
#endif
#if KAHAN
            c[u] = in[u] ? Io<DT_BF16>::load(C, at[u]) : 0.0f;
#else
            c[u] = 0.0f;
#endif
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            if (!in[u]) continue;
            const float old = p[u];
#if RULE == RULE_STABLE_ADAMW
  #if WEIGHT_DECAY
            p[u] = p[u] * decay;
  #endif
            m[u] = fmaf(sc.beta1, m[u], sc.one_minus_beta1 * g[u]);
            v[u] = fmaf(sc.beta2, v[u], sc.one_minus_beta2 * (g[u] * g[u]));
            p[u] = fmaf(-lr_t, m[u] / (sqrtf(v[u]) + sc.eps), p[u]);
            Io<V_T>::store(V, at[u], v[u]);
#else
  #if WEIGHT_DECAY
            if (decays) p[u] = p[u] * sc.decay;
  #endif
            m[u] = fmaf(sc.beta1, m[u], sc.one_minus_beta1 * g[u]);
            p[u] = fmaf(-sc.step_size, m[u] / denom, p[u]);
#endif
#if TELEMETRY
            largest = fmaxf(largest, fabsf(p[u] - old));
            if (!(fabsf(g[u]) <= FLOAT_MAX)) nonfinite++;
#endif
#if KAHAN
            const float updated = p[u];
            p[u] = old;
            kahan_update(p[u], c[u], updated - old);
            Io<DT_BF16>::store(C, at[u], c[u]);
#endif
            (void)old;
            (void)c[u];
            Io<PARAM_T>::store(P, at[u], p[u]);
            Io<M_T>::store(M, at[u], m[u]);
        }
    }
#if TELEMETRY
    if (largest > 0.0f) atomicMax(&telemetry[2 * t], __float_as_uint(largest));
    if (nonfinite != 0u) atomicAdd(&telemetry[2 * t + 1], nonfinite);
#endif
}
